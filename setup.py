"""Build of fastnn's compiled core: one Cython extension over the C kernels in csrc/.

FASTNN_DEBUG=1 turns on Cython bounds/wraparound/initialized/None checks and the
C asserts (FNN_ASSERT, -DFNN_DEBUG).  FASTNN_ANNOTATE=1 writes Cython's HTML
annotation.  Shipped builds use -O3 with no -march=native and no -ffast-math, so
the wheel runs on any x86-64 and NaN/inf checks stay valid (the AVX2 and AVX-512
copies of the kernels are chosen at run time, csrc/fnn_isa.h).

Build speed (an install compiles everything; see build_ext below):
* the object files compile in parallel, one job per core (`build_ext -j N` sets N;
  -j1 is the serial build, with the same objects);
* build/objcache/ in this checkout keeps the generated _core.c and every object
  file under a hash of all that goes into it (source, the headers of its folder
  and of every -I folder, compiler version, flags), so a second
  `pip install -e .` (a fresh build environment in a temporary folder each
  time) compiles nothing that did not change.  `build_ext --force` or
  FASTNN_OBJCACHE=0 rebuilds without reading it; deleting build/ empties it.
"""
import hashlib
import os
import shutil
import subprocess
import sys
import threading
import types
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from glob import glob

import numpy as np
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, "build", "objcache")
CACHE_KEEP = 96  # files; least recently used go first (a build stores 13)
USE_CACHE = os.environ.get("FASTNN_OBJCACHE", "1") not in ("", "0")

DEBUG = os.environ.get("FASTNN_DEBUG", "0") not in ("", "0")
ANNOTATE = os.environ.get("FASTNN_ANNOTATE") == "1"

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "nonecheck": DEBUG,
    "cdivision": True,
    "embedsignature": True,
}

if sys.platform == "win32":
    extra_compile_args = ["/O2"] + (["/DFNN_DEBUG"] if DEBUG else [])
else:
    # -fno-math-errno lets sqrt vectorise (errno is never read); NaN/inf semantics stay
    extra_compile_args = ["-O3", "-std=c11", "-fno-math-errno", "-Wno-unused-function"]
    # Python's own flags carry -DNDEBUG; -UNDEBUG after them turns assert() back on
    if DEBUG:
        extra_compile_args += ["-O0", "-g", "-DFNN_DEBUG", "-UNDEBUG"]
    else:
        extra_compile_args += ["-DNDEBUG"]
        # Python's flags also carry -g: debug information is a fifth of the time
        # of the largest file (_core.c) and changes no instruction.  A -g, -g3,
        # -ggdb... in CFLAGS (tools/asan.sh) keeps it.
        if not any(f.startswith("-g") and f != "-g0" for f in os.environ.get("CFLAGS", "").split()):
            extra_compile_args += ["-g0"]


def _digest(*parts):
    h = hashlib.sha256()
    for part in parts:
        h.update(part if isinstance(part, bytes) else str(part).encode())
        h.update(b"\0")
    return h.hexdigest()


def _file_digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@lru_cache(maxsize=None)
def _tree_digest(folder, suffixes=None):
    """Hash of the names and contents of the files under `folder` (only those
    ending in `suffixes`, when given): stands for an include folder's path."""
    entries = []
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            if suffixes and not name.endswith(suffixes):
                continue
            path = os.path.join(root, name)
            entries += [os.path.relpath(path, folder), _file_digest(path)]
    return _digest(*entries)


def _store(path, data_path):
    """Copy data_path into the cache as `path`, atomically (builds may run at once)."""
    os.makedirs(CACHE, exist_ok=True)
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}.tmp"
    shutil.copyfile(data_path, tmp)
    os.replace(tmp, path)


def _fetch(path, dest):
    """Copy the cache entry `path` to `dest` (unless equal) and mark it recently
    used; False when it is missing, or was pruned meanwhile by another build."""
    try:
        if not (os.path.exists(dest) and _file_digest(dest) == _file_digest(path)):
            shutil.copyfile(path, dest)
        os.utime(path)
        return True
    except OSError:
        return False


def _prune_cache():
    try:
        entries = [os.path.join(CACHE, name) for name in os.listdir(CACHE)]
        entries.sort(key=os.path.getmtime, reverse=True)
        for path in entries[CACHE_KEEP:]:
            os.remove(path)
    except OSError:
        pass


def _cythonize(pyx, force):
    """The C file Cython makes of `pyx`, regenerated only when an input changed.

    cythonize() itself compares modification times, and every pip build installs
    numpy's .pxd afresh into a new build environment, so it would translate the
    file again on each install.  The key here is the contents of the .pyx and of
    every .pxd it reads, the Cython version and the directives."""
    import Cython
    from Cython.Build import cythonize
    from Cython.Build.Dependencies import create_dependency_tree

    c_file = os.path.splitext(pyx)[0] + ".c"
    deps = create_dependency_tree().all_dependencies(pyx)
    inputs = sorted(_file_digest(d) for d in deps if d.endswith((".pyx", ".pxd", ".pxi")))
    key = _digest("cython", Cython.__version__, sorted(DIRECTIVES.items()), pyx, *inputs)
    cached = os.path.join(CACHE, f"{os.path.basename(c_file)}-{key[:32]}")
    if USE_CACHE and not force and not ANNOTATE and _fetch(cached, c_file):
        print(f"fastnn: {c_file} from build/objcache (Cython inputs unchanged)", flush=True)
        return c_file
    cythonize([pyx], compiler_directives=DIRECTIVES, annotate=ANNOTATE, force=True)
    if USE_CACHE:
        _store(cached, c_file)
    return c_file


class build_ext(_build_ext):
    """Cythonizes through the cache above, then compiles the objects of each
    extension concurrently: a thread per job, each running the compiler's own
    per-object step (the command line of the serial build)."""

    def build_extension(self, ext):
        rebuild = getattr(self, "_rebuild", self.force)
        ext.sources = [_cythonize(s, rebuild) if s.endswith(".pyx") else s
                       for s in ext.sources]
        super().build_extension(ext)

    def build_extensions(self):
        self._rebuild = self.force  # --force: translate and compile all, read no cache
        cc = self.compiler
        # UnixCCompiler (gcc, clang, MinGW): compile() loops over _compile(obj, ...);
        # other compilers (MSVC) override compile() whole and stay serial.
        cached = False
        if cc.compiler_type in ("unix", "mingw32", "cygwin"):
            if isinstance(self.parallel, int) and self.parallel is not True and self.parallel > 0:
                jobs = self.parallel
            elif hasattr(os, "sched_getaffinity"):
                jobs = len(os.sched_getaffinity(0))
            else:
                jobs = os.cpu_count() or 1
            cached = USE_CACHE and not self._rebuild
            cc.compile = types.MethodType(_make_compile(jobs, read=cached, write=USE_CACHE), cc)
        # With the cache, objects are keyed by everything that makes them: always
        # compile (hits) and link, instead of distutils' test of modification times,
        # which keeps an up-to-date-looking .so in build/lib made with other flags
        # (FASTNN_DEBUG, CFLAGS) and would put it in a wheel.
        self.force = self._rebuild or cached
        try:
            super().build_extensions()
        finally:
            self.force = self._rebuild
        if USE_CACHE:
            _prune_cache()


def _compiler_id(cc):
    try:
        out = subprocess.run([cc.compiler_so[0], "--version"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return _digest(shutil.which(cc.compiler_so[0]) or cc.compiler_so[0], out)


def _object_key(command, src, compiler_id):
    """Hash of all that makes the object of `src`: the command line with each -I
    folder replaced by the hash of its contents (the build environment's numpy
    lives in a new temporary folder each install), the source, the headers
    beside it, and the compiler."""
    args = []
    for arg in command:
        if arg.startswith("-I"):  # a missing folder adds no header (venv/include often)
            folder = arg[2:]
            arg = "-I" + (_tree_digest(os.path.abspath(folder)) if os.path.isdir(folder) else "-")
        args.append(arg)
    here = os.path.dirname(os.path.abspath(src))
    return _digest("object", compiler_id, *args, src, _file_digest(src),
                   _tree_digest(here, (".h",)))


def _make_compile(jobs, read, write):
    def compile(self, sources, output_dir=None, macros=None, include_dirs=None, debug=False,
                extra_preargs=None, extra_postargs=None, depends=None):
        # CCompiler.compile, with the loop over _compile() run on a thread pool
        macros, objects, extra_postargs, pp_opts, build = self._setup_compile(
            output_dir, macros, include_dirs, sources, depends, extra_postargs)
        cc_args = self._get_cc_args(pp_opts, debug, extra_preargs)
        compiler_id = _compiler_id(self) if read or write else None
        cached = []

        def one(obj):
            src, ext = build[obj]
            path = None
            if compiler_id is not None:
                key = _object_key(self.compiler_so + cc_args + extra_postargs, src, compiler_id)
                path = os.path.join(CACHE, f"{os.path.basename(obj)}-{key[:32]}")
                if read and _fetch(path, obj):
                    cached.append(obj)
                    return
            self._compile(obj, src, ext, cc_args, extra_postargs, pp_opts)
            if path is not None:
                _store(path, obj)

        # the largest sources first (_core.c alone takes as long as all of csrc/)
        todo = sorted((obj for obj in objects if obj in build),
                      key=lambda obj: os.path.getsize(build[obj][0]), reverse=True)
        with ThreadPoolExecutor(max_workers=max(1, min(jobs, len(todo)))) as pool:
            futures = [pool.submit(one, obj) for obj in todo]
            try:
                for future in futures:
                    future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                raise
        print(f"fastnn: {len(todo) - len(cached)} of {len(todo)} objects compiled "
              f"({jobs} jobs), {len(cached)} from build/objcache", flush=True)
        return objects

    return compile


csources = sorted(glob("csrc/*.c"))
extensions = [
    Extension(
        "fastnn._kernels._core",
        ["src/fastnn/_kernels/_core.pyx", *csources],
        include_dirs=["csrc", np.get_include()],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=extra_compile_args,
        depends=glob("csrc/*.h"),
    )
]

setup(ext_modules=extensions, cmdclass={"build_ext": build_ext})
