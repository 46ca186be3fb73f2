#!/usr/bin/env bash
# libr1vk.so exports exactly the functions r1vk.h declares with R1VK_EXPORT: none missing (a
# declared function left undefined links only when someone calls it) and none extra.
# Usage: exports_match_header.sh path/to/libr1vk.so path/to/r1vk.h
set -euo pipefail
lib=$1 header=$2
declared=$(grep -o 'R1VK_EXPORT [^(]*(' "$header" | sed -E 's/.*[ *]([A-Za-z0-9_]+)\($/\1/' | grep '^r1vk_' | sort)
exported=$(nm -D --defined-only "$lib" | awk '{print $3}' | sed 's/@.*//' | grep -v '^$' | sort)
[ -n "$declared" ] || { echo "FAIL: no R1VK_EXPORT declarations found in $header"; exit 1; }
if [ "$declared" != "$exported" ]; then
  echo "FAIL: exports differ from r1vk.h (< declared only, > exported only):"
  diff <(echo "$declared") <(echo "$exported") | grep '^[<>]'
  exit 1
fi
echo "libr1vk exports the $(echo "$declared" | wc -l) functions r1vk.h declares"
