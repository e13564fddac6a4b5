// The treenets serve page: no framework, no build step, no network access beyond this server.
"use strict";

const $ = (id) => document.getElementById(id);
let COLORS = {};

function errorText(answer, status) {
  if (answer && answer.error) {
    return `${answer.error.message} (HTTP ${status}, request ${answer.error.request_id})`;
  }
  return `HTTP ${status}`;
}

async function postJSON(path, body) {
  const response = await fetch(path, {
    method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body),
  });
  let answer = null;
  try { answer = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) { throw new Error(errorText(answer, response.status)); }
  return answer;
}

function textColor(fill) {
  return (fill === "#ca0020" || fill === "#0571b0") ? "#fff" : "#222";
}

function chip(label, text) {
  const span = document.createElement("span");
  span.className = "verdict";
  const fill = COLORS[label] || "#bdbdbd";
  span.style.background = fill;
  span.style.color = textColor(fill);
  span.textContent = text;
  return span;
}

function showHover(node) {
  $("hover-phrase").textContent = node.phrase;
  $("hover-label").textContent = node.label;
  const table = $("hover-probs");
  table.replaceChildren();
  for (const [label, p] of Object.entries(node.probs)) {
    const row = table.insertRow();
    row.insertCell().textContent = label;
    row.insertCell().textContent = p.toFixed(2);
    const bar = document.createElement("span");
    bar.className = "bar";
    bar.style.width = `${Math.round(p * 80)}px`;
    bar.style.background = COLORS[label] || "#888";
    row.insertCell().appendChild(bar);
  }
  $("hover").hidden = false;
}

function drawResult(result) {
  const figure = document.createElement("figure");
  figure.className = "sentence";
  figure.dataset.sentence = String(result.sentence);
  const caption = document.createElement("figcaption");
  caption.appendChild(chip(result.label, `${result.label} ${result.probs[result.label].toFixed(2)}`));
  caption.appendChild(document.createTextNode(result.text));
  figure.appendChild(caption);
  const scroll = document.createElement("div");
  scroll.className = "tree-scroll" + ($("fit").checked ? " fit" : "");
  scroll.innerHTML = result.svg;  // drawn and escaped by the server (treenets.formats.svg)
  figure.appendChild(scroll);
  for (const circle of scroll.querySelectorAll("circle.node")) {
    const node = result.nodes[Number(circle.dataset.node)];
    circle.addEventListener("mouseenter", () => { circle.classList.add("active"); showHover(node); });
    circle.addEventListener("mouseleave", () => { circle.classList.remove("active"); });
  }
  return figure;
}

async function predict(event) {
  event.preventDefault();
  const status = $("predict-status");
  const text = $("text").value;
  status.className = "status";
  status.textContent = "parsing...";
  $("submit").disabled = true;
  try {
    const answer = await postJSON("/v1/predict", {model: $("model").value || null, texts: [text], svg: true});
    const results = $("results");
    results.replaceChildren(...answer.results.map(drawResult));
    const n = answer.results.length;
    status.textContent = n ? `${n} sentence${n > 1 ? "s" : ""}, model ${answer.model}` : "no sentences in the text";
  } catch (err) {
    status.className = "status error";
    status.textContent = err.message;
  } finally {
    $("submit").disabled = false;
  }
}

async function similarity(event) {
  event.preventDefault();
  const out = $("similarity-result");
  out.className = "status";
  out.textContent = "comparing...";
  try {
    const answer = await postJSON("/v1/similarity",
      {model: $("sim-model").value || null, pairs: [{a: $("sent-a").value, b: $("sent-b").value}]});
    out.textContent = `similarity ${answer.results[0].score.toFixed(2)} on a scale of 1 (unrelated) to 5 ` +
      `(the same meaning), model ${answer.model}`;
    out.dataset.score = String(answer.results[0].score);
  } catch (err) {
    out.className = "status error";
    out.textContent = err.message;
  }
}

function fill(select, models) {
  select.replaceChildren(...models.map((m) => {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.name + (m.default ? " (default)" : "");
    option.selected = m.default;
    return option;
  }));
}

function bind() {
  $("predict-form").addEventListener("submit", predict);
  $("similarity-form").addEventListener("submit", similarity);
  $("fit").addEventListener("change", () => {
    for (const el of document.querySelectorAll(".tree-scroll")) { el.classList.toggle("fit", $("fit").checked); }
  });
  init();
}

async function init() {
  try {
    const info = await (await fetch("/v1/models")).json();
    if (!info.ready) {  // the models are still loading
      $("predict-status").textContent = "the server is loading its models...";
      setTimeout(init, 1000);
      return;
    }
    $("predict-status").textContent = "";
    const sentiment = info.models.filter((m) => m.task === "sentiment");
    const relatedness = info.models.filter((m) => m.task === "relatedness");
    fill($("model"), sentiment);
    fill($("sim-model"), relatedness);
    if (!relatedness.length) { $("similarity-section").hidden = true; }
    if (!sentiment.length) { $("predict-section").hidden = true; }
    for (const m of sentiment) { Object.assign(COLORS, m.colors); }
    const labels = sentiment.length ? sentiment[0].labels : [];
    $("legend").replaceChildren(...[...labels].reverse().map((l) => {
      const span = chip(l, l);
      span.className = "";
      return span;
    }));
  } catch (err) {
    $("predict-status").className = "status error";
    $("predict-status").textContent = `the server's models could not be read: ${err.message}`;
  }
}

document.addEventListener("DOMContentLoaded", bind);
