"""out_lib.py: write_out(path, text, prog) puts text at path as the C tools' --out does
(workloads/host/out_file.h; scripts/out_lib.sh is the shell twin):
  - a regular file or a new path: a private temp file beside it, flushed and synced,
    then renamed over it (mode kept): path holds the old content or all of the new;
  - a symlink (chain): followed, its last target replaced as above, the links kept;
  - a FIFO, a device, /dev/stdout and other fd links: written through, never replaced;
  - a directory: refused.
Errors: one line "PROG: cannot write PATH: REASON" on stderr and SystemExit(1), 2 for
a directory; path untouched and no temp file left."""
import os
import stat
import sys
import tempfile


def _last(path):
    """The last name of path's symlink chain (it may not exist); None for an fd link."""
    p, n = path, 0
    while os.path.islink(p):
        if os.path.realpath(os.path.dirname(os.path.abspath(p))).startswith("/proc"):
            return None
        n += 1
        if n > 40:
            raise OSError(40, "Too many levels of symbolic links")
        link = os.readlink(p)
        p = link if os.path.isabs(link) else os.path.join(os.path.dirname(p), link)
    return p


def _replace(last, text):
    mode = stat.S_IMODE(os.stat(last).st_mode) if os.path.exists(last) else None
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(last) + ".tmp.",
                               dir=os.path.dirname(os.path.abspath(last)))
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        if mode is None:
            umask = os.umask(0)
            os.umask(umask)
            mode = 0o666 & ~umask
        os.chmod(tmp, mode)
        os.replace(tmp, last)
    except BaseException:
        os.unlink(tmp)
        raise


def write_out(path, text, prog):
    """See the module doc."""
    try:
        if os.path.isdir(path):
            raise IsADirectoryError(21, "Is a directory")
        last = _last(path)
        if last is None or (os.path.exists(last) and not os.path.isfile(last)):
            with open(path, "a") as f:
                f.write(text)
        else:
            _replace(last, text)
    except OSError as e:
        print("%s: cannot write %s: %s" % (prog, path, e.strerror or e), file=sys.stderr)
        raise SystemExit(2 if isinstance(e, IsADirectoryError) else 1)
