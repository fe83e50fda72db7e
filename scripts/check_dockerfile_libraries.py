#!/usr/bin/env python3
"""Fails when the Dockerfile's runtime stage does not install a library the services load.

For each built executable (ingest, storage, processing, notification, switchyard) it reads the
shared libraries the binary needs (readelf's NEEDED entries), finds where each resolves on this
machine (ldd), and maps the file to its Debian package (dpkg -S). The image links the Swift
runtime and Foundation statically (--static-swift-stdlib), so a Swift toolchain library is not
a package to install, but what *it* needs (libxml2 for FoundationXML, say) then becomes the
binary's own need, so those are followed too. Libraries of system packages need nothing more
here: apt installs their dependencies. Every package found must be in the runtime stage's
`apt-get install` list, or be one debian:bookworm-slim already has (BASE_IMAGE_PACKAGES).

Usage: check_dockerfile_libraries.py [--dockerfile PATH] BIN_DIR
"""
import argparse
import os
import re
import shlex
import subprocess
import sys

EXECUTABLES = ["ingest", "storage", "processing", "notification", "switchyard"]

# Packages of priority required in Debian bookworm, present in debian:bookworm-slim
# (libstdc++6 because apt itself needs it).
BASE_IMAGE_PACKAGES = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g"}


def needed(path):
    output = subprocess.run(["readelf", "-d", path], capture_output=True, text=True, check=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", output)


def resolved(path):
    """Library name -> file, as the dynamic loader finds them for `path` (its whole closure)."""
    output = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    found = {}
    for line in output.splitlines():
        match = re.match(r"\s*(\S+) => (\S+)", line)
        if match:
            if match.group(2) == "not":
                raise SystemExit(f"{path}: {match.group(1)} is not found on this machine (ldd)")
            found[match.group(1)] = match.group(2)
    return found


def debian_package(path):
    for candidate in (path, os.path.realpath(path)):
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0:
            return result.stdout.split(":", 1)[0].split(",")[0].strip()
    return None


def packages_needed(binary):
    """Debian package -> the library that needs it, for one executable."""
    files = resolved(binary)
    packages, queue, seen = {}, [binary], set()
    while queue:
        current = queue.pop()
        for name in needed(current):
            if name.startswith("ld-linux") or name in seen:
                continue
            seen.add(name)
            path = files.get(name)
            if path is None:
                raise SystemExit(f"{binary}: ldd does not resolve {name}")
            package = debian_package(path)
            if package is None:
                if "/swift/" not in path:
                    raise SystemExit(f"{path} (needed by {current}) belongs to no Debian package")
                queue.append(path)  # the Swift runtime, linked statically into the image's binaries
            else:
                packages.setdefault(package, f"{name} (needed by {os.path.basename(current)})")
    return packages


def runtime_install_list(dockerfile):
    """Package names in the `apt-get install` commands of the Dockerfile's last stage."""
    with open(dockerfile) as handle:
        text = handle.read().replace("\\\n", " ")
    stages = re.split(r"(?im)^FROM\s", text)
    packages = set()
    for command in re.findall(r"apt-get\s+install\s+([^&;\n]*)", stages[-1]):
        packages.update(word for word in shlex.split(command) if not word.startswith("-"))
    return packages


def main():
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0])
    parser.add_argument("--dockerfile", default=os.path.join(os.path.dirname(__file__), "..", "Dockerfile"))
    parser.add_argument("bin_dir")
    arguments = parser.parse_args()
    installed = runtime_install_list(arguments.dockerfile)
    if not installed:
        raise SystemExit(f"{arguments.dockerfile}: no apt-get install in the runtime stage")
    missing = {}
    for executable in EXECUTABLES:
        binary = os.path.join(arguments.bin_dir, executable)
        if not os.path.isfile(binary):
            raise SystemExit(f"{binary} is not built (swift build builds every executable)")
        for package, reason in packages_needed(binary).items():
            if package not in installed and package not in BASE_IMAGE_PACKAGES:
                missing.setdefault(package, f"{executable}: {reason}")
    for package, reason in sorted(missing.items()):
        print(f"missing from the Dockerfile's runtime apt-get install: {package} ({reason})", file=sys.stderr)
    if missing:
        sys.exit(1)
    print(f"check_dockerfile_libraries: the runtime stage installs every library of {', '.join(EXECUTABLES)}")


if __name__ == "__main__":
    main()
