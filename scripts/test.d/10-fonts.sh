# The replay's PNG plots draw their text in a sans-serif system font (resvg
# finds it through fontdb in /usr/share/fonts): without one the chart has no
# labels and the plot test fails. A fresh Debian has fonts-dejavu-core; a
# minimal one may not (and a stray icon font, such as the glyphicons some
# packages bring, does not count).
if [ "$(id -u)" = 0 ]; then
  apt_need fonts-dejavu-core
elif [ -z "$(find /usr/share/fonts -iname '*dejavu*' -print -quit 2>/dev/null)" ]; then
  echo "10-fonts: no DejaVu font and not root: the plot test may fail" >&2
fi
