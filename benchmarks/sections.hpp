// The sections of the benchmark, each in its own fresh state directory under
// the run's temp dir `root`, and the helper modes this program also runs as.
#pragma once

#include "options.hpp"

#include <string>

namespace bench {

// attach_sections.cpp: attach and detach through every client.
void bench_api(const Options &o, const std::string &root);
void bench_luajit(const Options &o, const std::string &root);
void bench_python(const Options &o, const std::string &root);
void bench_cli(const Options &o, const std::string &root);

// lifecycle_sections.cpp: start, readiness, a client's death, the grace period's end.
void bench_start(const Options &o, const std::string &root);
void bench_death(const Options &o, const std::string &root);
void bench_grace(const Options &o, const std::string &root);

// idle_sections.cpp: what idle watchers cost.
void bench_idle(const Options &o, const std::string &root);
void bench_watchers(const Options &o, const std::string &root);

// list_section.cpp
void bench_list(const Options &o, const std::string &root);

// throughput_section.cpp
void bench_throughput(const Options &o, const std::string &root);

// stack_section.cpp: depends_on, a 3-deep stack against 3 uses.
void bench_stack(const Options &o, const std::string &root);

// side_by_side_section.cpp: the rows both CLIs have, --cli against --against.
void bench_against(const Options &o, const std::string &root);

// Helper modes (argv[1] is the mode):
// --throughput-worker DIR NAME START_NS MS: one worker of the throughput section.
int throughput_worker(int argc, char **argv);
// --bench-serve MARK DELAY_MS: the server of the readiness rows.
int bench_serve(int argc, char **argv);

}  // namespace bench
