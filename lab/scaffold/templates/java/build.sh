#!/bin/sh
# Builds @NAME@ with a JDK 21 or newer (virtual threads are final since Java 21).
#   sh build.sh        compile Server.java to build/classes; link build/jdk to the JDK
#   sh build.sh --jdk  print the JDK it would use, or fail saying what is missing
# The JDK: $JAVA_HOME, else the one of `javac` on PATH, else the newest in /usr/lib/jvm.
set -eu
cd "$(dirname "$0")"
MIN=21

feature() { # the feature release (17, 21, 25...) of the JDK at $1, or nothing
  [ -x "$1/bin/javac" ] && [ -x "$1/bin/java" ] || return 0
  sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null
}

usable() { v=$(feature "$1"); [ -n "$v" ] && [ "$v" -ge "$MIN" ]; }

find_jdk() {
  if [ -n "${JAVA_HOME:-}" ] && usable "$JAVA_HOME"; then echo "$JAVA_HOME"; return; fi
  if javac=$(command -v javac) && home=$(dirname "$(dirname "$(readlink -f "$javac")")") \
      && usable "$home"; then echo "$home"; return; fi
  for home in /usr/lib/jvm/*; do
    if usable "$home"; then echo "$home"; return; fi
  done
  echo "no JDK $MIN or newer (JAVA_HOME, javac on PATH, /usr/lib/jvm/*): install one" \
       "(Debian 13: apt-get install openjdk-25-jdk-headless) or use --backend docker" >&2
  return 1
}

jdk=$(find_jdk)
if [ "${1:-}" = --jdk ]; then
  echo "Java $(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$jdk/release") ($jdk)"
  exit 0
fi
rm -rf build/classes
"$jdk/bin/javac" --release "$MIN" -Xlint:all -Werror -d build/classes Server.java
ln -sfn "$jdk" build/jdk
