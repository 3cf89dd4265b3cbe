"""Debian 12 test hosts booted with systemd-nspawn, reached over SSH like a Vagrant VM."""
