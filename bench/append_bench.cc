// Appending signed custody events: each event is signed by an actor's
// Ed25519 key, the signature is verified by the log before appending, and
// each batch is committed durably (SQLite WAL, synchronous=FULL) with one
// signed checkpoint. Prints events/s.
//
// usage: append_bench [EVENTS=50000] [BATCH=1000] [ITEMS=1000] [DIR]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "src/repo/repository.h"

using custos::repo::EventRequest;
using custos::repo::Repository;

int main(int argc, char** argv) {
  uint64_t events = argc > 1 ? std::strtoull(argv[1], nullptr, 10) : 50000;
  uint64_t batch = argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1000;
  uint64_t items = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 1000;
  std::string base = argc > 4 ? argv[4] : "/tmp/custos-append-bench";
  std::filesystem::remove_all(base);
  std::filesystem::create_directories(base + "/src");
  for (uint64_t i = 0; i < items; ++i)
    std::ofstream(base + "/src/f" + std::to_string(i)) << "item " << i << "\n";

  custos::repo::RepoEnv env;
  auto repo = Repository::Init(base + "/repo",
                               {"bench.example/log", "Bench Authority"}, env);
  if (!repo.ok()) {
    std::fprintf(stderr, "init: %s\n",
                 std::string(repo.status().message()).c_str());
    return 1;
  }
  auto& r = **repo;
  if (!r.AddActor("Bench Examiner", "examiner").ok()) return 1;
  custos::repo::CaseRecord c{"BENCH-1", "bench", "none", {}, 0};
  if (!r.OpenCase(c, "").ok()) return 1;
  custos::repo::AcquireRequest acq;
  acq.case_id = "BENCH-1";
  acq.actor = "Bench Examiner";
  acq.exhibits = {"EXH-1"};
  auto acquired = r.Acquire({base + "/src"}, acq);
  if (!acquired.ok()) {
    std::fprintf(stderr, "acquire: %s\n",
                 std::string(acquired.status().message()).c_str());
    return 1;
  }
  auto children = r.meta().ChildrenOf((*acquired)[0].item.id);
  if (!children.ok() || children->empty()) return 1;

  auto t0 = std::chrono::steady_clock::now();
  uint64_t done = 0;
  while (done < events) {
    std::vector<EventRequest> reqs;
    for (uint64_t i = 0; i < batch && done + i < events; ++i) {
      EventRequest e;
      e.type = "accessed";
      e.actor = "Bench Examiner";
      e.items = {(*children)[(done + i) % children->size()].id};
      e.purpose = "benchmark";
      reqs.push_back(std::move(e));
    }
    auto recs = r.AddEvents(reqs);
    if (!recs.ok()) {
      std::fprintf(stderr, "append: %s\n",
                   std::string(recs.status().message()).c_str());
      return 1;
    }
    done += recs->size();
  }
  double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0)
          .count();
  std::printf(
      "appended %llu signed events in %.2f s: %.0f events/s (batch %llu, %llu "
      "items, "
      "each signed by the actor, verified by the log, one fsync'd commit + "
      "signed "
      "checkpoint per batch)\n",
      static_cast<unsigned long long>(done), secs, done / secs,
      static_cast<unsigned long long>(batch),
      static_cast<unsigned long long>(children->size()));
  auto t1 = std::chrono::steady_clock::now();
  auto rep = r.Verify(nullptr);
  double vsecs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t1)
          .count();
  if (!rep.ok() || !rep->ok()) {
    std::fprintf(stderr, "verify failed\n");
    return 1;
  }
  std::printf("verify: %llu events re-checked in %.2f s: %.0f events/s\n",
              static_cast<unsigned long long>(rep->events), vsecs,
              rep->events / vsecs);
  return 0;
}
