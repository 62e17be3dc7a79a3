#!/bin/bash
# generate promscrape config: every scenario is scraped twice, at 5s (timeout 4s) and 15s (timeout 10s)
cat <<YAML
global:
  scrape_interval: 15s
scrape_configs:
YAML
# memcanary copy: every slot of ports.sh (the original listed its seven inline)
. "$(dirname "$0")/ports.sh"
for s in $(printf '%s\n' "${!PORT[@]}" | sort); do
  p=${PORT[$s]}
  cat <<YAML
  - job_name: ${s}-5s
    scrape_interval: 5s
    scrape_timeout: 4s
    static_configs: [{targets: ["127.0.0.1:$p"], labels: {scenario: "$s", interval: "5s"}}]
  - job_name: ${s}-15s
    scrape_interval: 15s
    scrape_timeout: 10s
    static_configs: [{targets: ["127.0.0.1:$p"], labels: {scenario: "$s", interval: "15s"}}]
YAML
done
