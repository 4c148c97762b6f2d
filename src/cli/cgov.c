/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The cgov command: one binary with a subcommand per task, like git or
 * systemctl. This file only dispatches; each command lives in its own file
 * (doctor.c, ...) and owns its options and its exit status. */

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "check-policy.h"
#include "doctor.h"
#include "kill.h"
#include "macro.h"
#include "reload.h"
#include "run.h"
#include "status.h"

#define EXIT_USAGE 2

typedef struct Command {
        const char *name;
        /* argv[0] is "cgov NAME", so getopt's own messages name the command;
         * the return value is the exit status. */
        int (*run)(int argc, char *argv[]);
        const char *help; /* one line for `cgov --help` */
} Command;

static int help_main(int argc, char *argv[]);

/* In the order `cgov --help` lists them. A new command is one line here,
 * its own file, and a section in docs/man/cgov.1. */
static const Command commands[] = {
        { "run", run_main, "run a command as a job in a pool of cgovd, and exit as it does" },
        { "wait", wait_main, "wait for a job started with 'cgov run --detach', and exit as it did" },
        { "status", status_main, "show the pools: memory reserved and used, jobs running and queued" },
        { "jobs", jobs_main, "show the jobs you may see, queued, running or ended" },
        { "kill", kill_main, "kill a job by its id, or the jobs of a name" },
        { "flush", flush_main, "kill every job of a pool" },
        { "reload", reload_main, "have cgovd apply its policy again, or say what is wrong with it" },
        { "check-policy", check_policy_main, "check the pool policy files of a directory without applying them" },
        { "doctor", doctor_main, "explain what this host can enforce, and what to do about the rest" },
        { "help", help_main, "show this help, or a command's (cgov help COMMAND)" },
};

static const Command *command_find(const char *name) {
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                if (strcmp(commands[i].name, name) == 0)
                        return &commands[i];
        return NULL;
}

static void usage(FILE *f) {
        int width = 0;

        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                width = MAX(width, (int) strlen(commands[i].name));

        fputs("Usage: cgov [--help] [--version] COMMAND [ARGS...]\n"
              "\n"
              "Run jobs under nested cgroup v2 resource pools whose memory and process\n"
              "limits the kernel enforces.\n"
              "\n"
              "Commands:\n",
              f);
        for (size_t i = 0; i < ELEMENTSOF(commands); i++)
                fprintf(f, "  %-*s  %s\n", width, commands[i].name, commands[i].help);
        fputs("\n"
              "Options:\n"
              "  -h, --help     show this help\n"
              "  -V, --version  show the version\n"
              "\n"
              "See 'cgov COMMAND --help' and cgov(1) for more.\n",
              f);
}

static int command_run(const Command *c, int argc, char *argv[]) {
        char name[64];

        snprintf(name, sizeof name, "cgov %s", c->name);
        argv[0] = name;
        /* glibc: 0 (not 1) makes the command's getopt_long start afresh. */
        optind = 0;
        return c->run(argc, argv);
}

static int unknown_command(const char *name) {
        fprintf(stderr, "cgov: unknown command '%s' (see 'cgov --help')\n", name);
        return EXIT_USAGE;
}

/* `cgov help doctor` is `cgov doctor --help`: each command keeps its own
 * words in one place. */
static int help_main(int argc, char *argv[]) {
        if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
                usage(stdout);
                return 0;
        }
        if (argc > 2) {
                fprintf(stderr, "cgov help: one command at a time (see 'cgov --help')\n");
                return EXIT_USAGE;
        }
        const Command *c = command_find(argv[1]);
        if (!c)
                return unknown_command(argv[1]);
        char *args[] = { NULL, (char *) "--help", NULL };
        return command_run(c, 2, args);
}

int main(int argc, char *argv[]) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        int c;

        /* getopt's messages start with argv[0]; "cgov", not "./cgov". */
        if (argc > 0)
                argv[0] = (char *) "cgov";
        /* "+": stop at the command; what follows it are the command's options. */
        while ((c = getopt_long(argc, argv, "+hV", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        puts(PACKAGE_NAME " " PACKAGE_VERSION);
                        return 0;
                default:
                        fprintf(stderr, "See 'cgov --help'.\n");
                        return EXIT_USAGE;
                }

        if (optind >= argc) {
                fprintf(stderr, "cgov: no command given (see 'cgov --help')\n");
                return EXIT_USAGE;
        }
        const Command *cmd = command_find(argv[optind]);
        if (!cmd)
                return unknown_command(argv[optind]);
        return command_run(cmd, argc - optind, argv + optind);
}
