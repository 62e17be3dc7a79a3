# The replay's PNG plots draw their text with a system font (resvg finds it
# through fontdb in /usr/share/fonts): with none, the chart has no labels
# and the plot test fails. A fresh Debian has fonts-dejavu-core; a minimal
# one may not.
if [ -z "$(find /usr/share/fonts -name '*.ttf' -print -quit 2>/dev/null)" ]; then
  apt_need fonts-dejavu-core
fi
