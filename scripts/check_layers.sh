#!/bin/sh
# The layers depend one way: each folder includes only from itself and the folders below it.
#   core < messages < actors < strategies < runtime < cli
# core/ also includes no CAF header. Prints every include that breaks this; exits 1 if any does.
# Run by CTest; usage: check_layers.sh [SOURCE_DIR]
root=${1:-$(dirname "$0")/..}
cd "$root" || exit 2
layers="core messages actors strategies runtime cli"
status=0
below=""
for layer in $layers; do
  allowed="$below $layer"
  # Every project include of this layer whose folder is not allowed.
  for file in $(find "$layer" -name '*.hpp' -o -name '*.cpp' | sort); do
    grep -n '^#include "' "$file" | while IFS= read -r line; do
      target=$(printf '%s\n' "$line" | sed 's/^[0-9]*:#include "\([^"]*\)".*/\1/')
      top=${target%%/*}
      case " $allowed " in
        *" $top "*) ;;
        *) echo "$file: includes $target, from a layer above $layer (allowed: $allowed)" ;;
      esac
    done
  done
  below="$allowed"
done > /tmp/check_layers.$$
if grep -rn '^#include <caf/' core/ >> /tmp/check_layers.$$; then :; fi
if [ -s /tmp/check_layers.$$ ]; then
  cat /tmp/check_layers.$$
  status=1
else
  echo "layers: every include points down ($layers); core/ includes no CAF"
fi
rm -f /tmp/check_layers.$$
exit $status
