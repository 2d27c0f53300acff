# SPDX-License-Identifier: MIT
"""A PEP 517 build backend with no Python dependencies. The wheel holds the pure-Python
package (ctypes) and libpixel.so.1 next to it, built from the C++ sources with CMake
(cmake/build_libpixel.cmake), so `pip install bindings/python` needs no index and the
installed package needs no library on the system. The wheel is tagged for the platform it
was built on (py3-none-<platform>): the library is native code, the Python is not.

Settings (pip --config-settings KEY=VALUE, or the environment variable in brackets):
  libpixel=PATH    [PIXEL_PREBUILT_LIBRARY] bundle this built libpixel.so instead of building
  build-dir=PATH   [PIXEL_WHEEL_BUILD_DIR]  CMake build folder (default build/libpixel)
"""

import base64
import hashlib
import io
import os
import re
import subprocess
import sysconfig
import tarfile
import tempfile
import zipfile

NAME = "pixel"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LIBRARY = "libpixel.so.1"
# The C++ sources: the repository (building from bindings/python in a checkout), or the
# copy an sdist carries in libpixel-src/.
SDIST_SOURCES = "libpixel-src"
SOURCE_PARTS = ("CMakeLists.txt", "LICENSE", "cmake", "include", "src")


def _version():
    with open(os.path.join(HERE, "pyproject.toml"), encoding="utf-8") as f:
        m = re.search(r'^\[project\][^\[]*?^version = "([^"]+)"', f.read(), re.M | re.S)
    if not m:
        raise RuntimeError("pyproject.toml: no [project] version")
    return m.group(1)


VERSION = _version()
METADATA = f"""Metadata-Version: 2.1
Name: {NAME}
Version: {VERSION}
Summary: Tracking-pixel URLs, <img> tags and background delivery over libpixel (ctypes)
License: MIT
Requires-Python: >=3.8
"""


def _tag():
    platform = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{platform}"


def _wheel_file():
    return f"""Wheel-Version: 1.0
Generator: pixel_build
Root-Is-Purelib: false
Tag: {_tag()}
"""


def _sources():
    for root in (os.path.join(HERE, SDIST_SOURCES), os.path.dirname(os.path.dirname(HERE))):
        cml = os.path.join(root, "CMakeLists.txt")
        if os.path.exists(cml) and os.path.exists(os.path.join(root, "cmake",
                                                               "build_libpixel.cmake")):
            return root
    raise RuntimeError("pixel_build: the libpixel C++ sources are not here: build from the "
                       "repository (pip install <repo>/bindings/python) or from its sdist")


def _setting(config_settings, key, env):
    value = (config_settings or {}).get(key)
    return value if value else os.environ.get(env)


def _build_library(config_settings, dest):
    """libpixel.so.1 into dest: built with CMake, or copied from the given file."""
    cmd = ["cmake", f"-DDEST={dest}"]
    prebuilt = _setting(config_settings, "libpixel", "PIXEL_PREBUILT_LIBRARY")
    if prebuilt:
        cmd.append(f"-DLIBRARY={os.path.abspath(prebuilt)}")
    build_dir = _setting(config_settings, "build-dir", "PIXEL_WHEEL_BUILD_DIR")
    if build_dir:
        cmd.append(f"-DBUILD_DIR={os.path.abspath(build_dir)}")
    cmd += ["-P", os.path.join(_sources(), "cmake", "build_libpixel.cmake")]
    try:
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    except FileNotFoundError:
        raise RuntimeError("pixel_build: cmake is needed to build libpixel") from None
    return os.path.join(dest, LIBRARY)


def _package_files():
    root = os.path.join(HERE, NAME)
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for f in sorted(filenames):
            if f.endswith(".py") or f == "py.typed":  # PEP 561: the package is typed
                full = os.path.join(dirpath, f)
                yield full, os.path.relpath(full, HERE).replace(os.sep, "/")


def _record_line(arcname, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist_info = f"{NAME}-{VERSION}.dist-info"
    os.makedirs(os.path.join(metadata_directory, dist_info), exist_ok=True)
    with open(os.path.join(metadata_directory, dist_info, "METADATA"), "w") as f:
        f.write(METADATA)
    return dist_info


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    name = f"{NAME}-{VERSION}-{_tag()}.whl"
    dist_info = f"{NAME}-{VERSION}.dist-info"
    records = []
    with tempfile.TemporaryDirectory(prefix="pixel-wheel-") as tmp:
        library = _build_library(config_settings, tmp)
        files = list(_package_files()) + [(library, f"{NAME}/{LIBRARY}")]
        with zipfile.ZipFile(os.path.join(wheel_directory, name), "w",
                             zipfile.ZIP_DEFLATED) as z:
            for full, arc in files:
                with open(full, "rb") as f:
                    data = f.read()
                info = zipfile.ZipInfo(arc, date_time=(1980, 1, 1, 0, 0, 0))
                info.external_attr = (0o755 if arc.endswith(LIBRARY) else 0o644) << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                z.writestr(info, data)
                records.append(_record_line(arc, data))
            for fname, text in (("METADATA", METADATA), ("WHEEL", _wheel_file())):
                arc = f"{dist_info}/{fname}"
                z.writestr(arc, text)
                records.append(_record_line(arc, text.encode()))
            records.append(f"{dist_info}/RECORD,,")
            z.writestr(f"{dist_info}/RECORD", "\n".join(records) + "\n")
    return name


def build_sdist(sdist_directory, config_settings=None):
    """The Python package plus the C++ sources libpixel is built from."""
    base = f"{NAME}-{VERSION}"
    name = f"{base}.tar.gz"
    src = _sources()

    def skip_caches(info):
        return None if "__pycache__" in info.name.split("/") else info

    with tarfile.open(os.path.join(sdist_directory, name), "w:gz") as t:
        for rel in ("pyproject.toml", "_build/pixel_build.py"):
            t.add(os.path.join(HERE, rel), f"{base}/{rel}")
        for full, arc in _package_files():
            t.add(full, f"{base}/{arc}")
        for part in SOURCE_PARTS:
            t.add(os.path.join(src, part), f"{base}/{SDIST_SOURCES}/{part}", filter=skip_caches)
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = METADATA.encode()
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    return name

