// gbench_shim.cc: the C++ side of gbench.h: registers C benchmark functions with Google
// Benchmark (Debian libbenchmark-dev 1.7.1) and runs them.
#include "gbench.h"

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

struct gb_state {
	benchmark::State *st;
};

static std::vector<gb_bench> benches;

extern "C" void gb_register(const gb_bench *b)
{
	benches.push_back(*b);
}

extern "C" int gb_keep_running(gb_state *s)
{
	return s->st->KeepRunning();
}

extern "C" int gb_thread_index(const gb_state *s)
{
	return s->st->thread_index();
}

extern "C" void gb_counter(gb_state *s, const char *name, double value)
{
	s->st->counters[name] = benchmark::Counter(value);
}

extern "C" void gb_skip_with_error(gb_state *s, const char *msg)
{
	s->st->SkipWithError(msg);
}

// Google Benchmark starts every thread of a run together at the first KeepRunning()
// (a barrier), so thread 0 sets the shared state up before entering the loop. A run is
// repeated while the iteration count is searched: the previous run's state is torn down at
// the next setup, the last one after all runs.
extern "C" int gb_main(int argc, char **argv)
{
	static std::vector<bool> live(benches.size());
	for (size_t i = 0; i < benches.size(); i++) {
		auto *bm = benchmark::RegisterBenchmark(benches[i].name, [i](benchmark::State &st) {
			gb_bench &b = benches[i];
			if (st.thread_index() == 0) {
				if (live[i] && b.teardown)
					b.teardown(b.arg);
				if (b.setup)
					b.setup(b.arg, st.threads());
				live[i] = true;
			}
			gb_state s{&st};
			b.run(&s, b.arg);
		});
		bm->Threads(benches[i].threads)->UseRealTime();
	}
	benchmark::Initialize(&argc, argv);
	if (benchmark::ReportUnrecognizedArguments(argc, argv))
		return 1;
	// The number of benchmarks that matched --benchmark_filter: 0 when the pattern
	// matches nothing or is not a valid regex (Google Benchmark says which, and returns).
	size_t matched = benchmark::RunSpecifiedBenchmarks();
	benchmark::Shutdown();
	for (size_t i = 0; i < benches.size(); i++)
		if (live[i] && benches[i].teardown)
			benches[i].teardown(benches[i].arg);
	return matched ? 0 : 2;
}
