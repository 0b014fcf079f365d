/* The Pod sandbox's process: holds the Pod's namespaces open and does nothing else.
 *
 * Built statically with gcc into devstack's pause image (no registry here). It exits
 * on SIGINT/SIGTERM and, as PID 1 of a Pod that shares its process namespace, reaps
 * the orphans it inherits.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
    (void)sig;
    _exit(0);
}

static void reap(int sig) {
    (void)sig;
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

static int on(int sig, void (*handler)(int)) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = handler;
    action.sa_flags = sig == SIGCHLD ? SA_NOCLDSTOP | SA_RESTART : 0;
    return sigaction(sig, &action, NULL);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "-v") == 0) {
        puts("productstore pause");
        return 0;
    }
    if (getpid() != 1) {
        fputs("pause: not PID 1 of a sandbox; carrying on\n", stderr);
    }
    if (on(SIGINT, stop) || on(SIGTERM, stop) || on(SIGCHLD, reap)) {
        perror("pause: sigaction");
        return 1;
    }
    for (;;) {
        pause();
    }
}
