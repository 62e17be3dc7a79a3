#!/bin/bash
# memcanary copy: default work dir as build-guest.sh
S=${LAB:-/var/tmp/memcanary-lab-agent}/state; [ -f $S/vm.pid ] && kill $(cat $S/vm.pid) 2>/dev/null && echo stopped victoria-metrics; rm -f $S/vm.pid
