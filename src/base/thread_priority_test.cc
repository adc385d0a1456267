#include "src/base/thread_priority.h"

#include <thread>

#include "gtest/gtest.h"

namespace custos {
namespace {

// Per thread: the other threads keep theirs; threads started afterwards
// inherit the lowered priority; 19 is the ceiling.
TEST(ThreadPriority, LowersOnlyTheCallingThreadAndIsInherited) {
  const int main_nice = ThisThreadNice();
  int lowered = -100, child = -100, capped = -100;
  std::thread t([&] {
    LowerThisThreadPriority(3);
    lowered = ThisThreadNice();
    std::thread c([&] { child = ThisThreadNice(); });
    c.join();
    LowerThisThreadPriority(100);
    capped = ThisThreadNice();
  });
  t.join();
  EXPECT_EQ(lowered, std::min(19, main_nice + 3));
  EXPECT_EQ(child, lowered);
  EXPECT_EQ(capped, 19);
  EXPECT_EQ(ThisThreadNice(), main_nice);
  LowerThisThreadPriority(0);  // no change
  EXPECT_EQ(ThisThreadNice(), main_nice);
}

}  // namespace
}  // namespace custos
