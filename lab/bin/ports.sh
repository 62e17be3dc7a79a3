# memcanary copy, new: the scrape slots, one definition for run-scenario.sh and scrape-config.sh (sourced).
# JOB = scrape slot (port + victoria-metrics job names JOB-5s / JOB-15s). The original lab's slots keep
# their ports; the copy adds its new scenarios and a second slot JOB=<scenario>2 per scenario (port +20),
# so two guests of one scenario can run side by side (incident's second slot stays incident2).
declare -A PORT=([idle]=19100 [incident]=19101 [benign-high]=19102 [fast-spike]=19103 [slow-leak]=19104
  [cache-heavy]=19105 [incident2]=19106 [build-plateau]=19107 [leak-restart]=19108 [jvm-heap]=19109
  [tmpfs-churn]=19110)
for _s in idle benign-high fast-spike slow-leak cache-heavy build-plateau leak-restart jvm-heap tmpfs-churn; do
  PORT[${_s}2]=$(( ${PORT[$_s]} + 20 ))
done
unset _s
