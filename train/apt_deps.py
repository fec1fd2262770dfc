"""Debian packages for the training scripts (train/*/train.py), installed by the script itself.

Owns one thing: when a training script finds its Debian packages missing, install them with apt (as root; the
project's rule is Debian's python3-torch and friends, never pip) and restart the script under the same interpreter
so the fresh packages are importable. It never decides which packages a script needs.
"""
import os
import subprocess
import sys


def apt_install_and_restart(packages):
    """Install `packages` with apt-get and re-exec the running script; exits with the command to run when not root."""
    if os.geteuid() != 0:
        sys.exit("missing Debian packages; run: sudo apt-get install -y --no-install-recommends " + " ".join(packages))
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + packages, check=True, env=env)
    os.execv(sys.executable, [sys.executable] + sys.argv)
