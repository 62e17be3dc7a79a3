/* The floors: loops that wake once a second and make only the system calls
 * of a model, none of its logic (scripts/bench-agent-cpu.sh,
 * scripts/bench-floors.sh; docs/agent.md, "Where it goes"). One mode each:
 *
 *   e  earlyoom 1.7: clock_nanosleep, lseek + read /proc/meminfo to EOF
 *   A  memcanary-agent while calm: epoll_wait (a socket and a PSI trigger
 *      registered once), pread /proc/meminfo, and /proc/pressure/memory and
 *      /proc/vmstat every fifth time
 *   t  clock_nanosleep, pread /proc/meminfo
 *   p  clock_nanosleep, pread /proc/meminfo and /proc/pressure/memory
 *   n  ppoll on no fd (timeout only), both preads
 *   s  ppoll on a socket, both preads
 *   T  ppoll on a PSI trigger, both preads
 *   a  ppoll on a socket and a PSI trigger, both preads (the agent before
 *      it waited in epoll)
 *   m  as a, /proc/meminfo only
 *   E  epoll_wait, a socket and a PSI trigger registered once, both preads
 *   F  epoll_wait, a PSI trigger registered once, both preads
 *   B  as A, without the fifth-time reads (meminfo only)
 *   N  clock_nanosleep, with a second thread blocked in poll on the PSI
 *      trigger (it never wakes while calm); the reads of A
 *   U  as N, waiting in FUTEX_WAIT with a timeout instead
 *   K  as t, with a PSI trigger armed (its fd open, never waited on)
 *   z  clock_nanosleep alone, no read
 *
 * Triggers: "some 300000 2000000" for A (the agent's default unprivileged,
 * scaled to a 2 s window), "some 150000 2000000" for the others. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static char buf[16384];

static int arm(const char *trig) {
  int tfd = open("/proc/pressure/memory", O_RDWR | O_NONBLOCK);
  if (tfd < 0 || write(tfd, trig, strlen(trig) + 1) < 0) _exit(2);
  return tfd;
}

static int epoll_set(int sock, int tfd) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event t = {.events = EPOLLPRI, .data.u64 = 1};
  if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &t)) _exit(3);
  if (sock >= 0) {
    struct epoll_event s = {.events = EPOLLIN, .data.u64 = 0};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, sock, &s)) _exit(4);
  }
  return ep;
}

static void *blocked(void *tfd) {
  struct pollfd p = {(int)(long)tfd, POLLPRI, 0};
  for (;;) poll(&p, 1, -1);
  return 0;
}

static unsigned word;

int main(int argc, char **argv) {
  struct timespec ts = {1, 0};
  char m = argc > 1 ? argv[1][0] : '?';
  int fd = open("/proc/meminfo", O_RDONLY);
  int pfd = open("/proc/pressure/memory", O_RDONLY);
  int sv[2];
  socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
  if (m == 'e') {
    for (;;) {
      clock_nanosleep(CLOCK_REALTIME, 0, &ts, 0);
      lseek(fd, 0, SEEK_SET);
      while (read(fd, buf, sizeof buf) > 0) {}
    }
  }
  if (m == 'A') {
    int vfd = open("/proc/vmstat", O_RDONLY);
    int ep = epoll_set(sv[0], arm("some 300000 2000000"));
    for (unsigned i = 0;; i++) {
      struct epoll_event out[2];
      epoll_wait(ep, out, 2, 1000);
      pread(fd, buf, sizeof buf, 0);
      if (i % 5 == 0) {
        pread(pfd, buf, sizeof buf, 0);
        pread(vfd, buf, sizeof buf, 0);
      }
    }
  }
  if (m == 'N' || m == 'U' || m == 'B') {
    int vfd = open("/proc/vmstat", O_RDONLY);
    long tfd = arm("some 300000 2000000");
    int ep = m == 'B' ? epoll_set(sv[0], tfd) : -1;
    pthread_t th;
    if (m != 'B') pthread_create(&th, 0, blocked, (void *)tfd);
    for (unsigned i = 0;; i++) {
      struct epoll_event out[2];
      if (m == 'B') epoll_wait(ep, out, 2, 1000);
      else if (m == 'N') clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0);
      else syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &ts, 0, 0);
      pread(fd, buf, sizeof buf, 0);
      if (m != 'B' && i % 5 == 0) {
        pread(pfd, buf, sizeof buf, 0);
        pread(vfd, buf, sizeof buf, 0);
      }
    }
  }
  if (m == 'E' || m == 'F') {
    int ep = epoll_set(m == 'E' ? sv[0] : -1, arm("some 150000 2000000"));
    for (;;) {
      struct epoll_event out[2];
      epoll_wait(ep, out, 2, 1000);
      pread(fd, buf, sizeof buf, 0);
      pread(pfd, buf, 256, 0);
    }
  }
  if (m == 'z')
    for (;;) clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0);
  int tfd = strchr("amTK", m) ? arm("some 150000 2000000") : -1;
  if (!strchr("tpnsTamK", m)) return 1;
  for (;;) {
    struct pollfd p[2] = {{sv[0], POLLIN, 0}, {tfd, POLLPRI, 0}};
    switch (m) {
    case 'a': case 'm': ppoll(p, 2, &ts, 0); break;
    case 'T': ppoll(p + 1, 1, &ts, 0); break;
    case 's': ppoll(p, 1, &ts, 0); break;
    case 'n': ppoll(p, 0, &ts, 0); break;
    default: clock_nanosleep(CLOCK_MONOTONIC, 0, &ts, 0);
    }
    pread(fd, buf, sizeof buf, 0);
    if (!strchr("mtK", m)) pread(pfd, buf, 256, 0);
  }
}
