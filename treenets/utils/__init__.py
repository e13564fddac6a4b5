"""Layer 0, plain helpers that know nothing of trees: where data and caches live, atomic
writes, devices, progress bars, pausing the garbage collector, the version. Imported when
first used, so that reading the version does not import torch."""
import lazy_loader as _lazy

from .version import __version__

__getattr__, __dir__, __all__ = _lazy.attach(
    __name__,
    submodules=["atomic", "collector", "device", "digest", "extras", "paths", "progress", "version"],
    submod_attrs={
        "atomic": ["atomic_write", "atomic_dir", "temp_name", "remove_stale", "recover_dir"],
        "collector": ["young_collection"],
        "digest": ["content_digest"],
        "device": ["DeviceError", "check_device"],
        "paths": ["DATA_DIR_ENV", "DATA_DIR_HELP", "CACHE_DIR_ENV", "default_data_dir", "default_cache_dir",
                  "resolve_dir", "pretrained_root"],
        "progress": ["progress_bar"],
    },
)
