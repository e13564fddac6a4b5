"""``treenets serve`` for the tests, with two faults a test can ask for through the text of a prediction.

* a text ``"SLEEP=<seconds> <text>"``: the batch holding it first sleeps that long in the worker thread
  (a request that stays in flight: for timeouts, a full queue, shutdown), then runs on ``<text>``;
* a text ``"FAULT"``: the batch raises an unexpected ``RuntimeError`` (the 500 path).

Everything else is the real server: ``python tests/_serve_launcher.py --port N [treenets serve options]``.
"""
import sys
import time

from treenets.cli import main
from treenets.serve import jobs

_predict_job = jobs.predict_job


def predict_job(model, parser, cache, input_format):
    run = _predict_job(model, parser, cache, input_format)

    def faulty(batch):
        delay, clean = 0.0, []
        for items in batch:
            texts = []
            for text in items:
                if text == "FAULT":
                    raise RuntimeError("injected fault: secret-internal-detail")
                if text.startswith("SLEEP="):
                    head, _, text = text.partition(" ")
                    delay = max(delay, float(head[len("SLEEP="):]))
                texts.append(text)
            clean.append(texts)
        time.sleep(delay)
        return run(clean)

    return faulty


jobs.predict_job = predict_job

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
