#include "src/base/thread_priority.h"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

namespace custos {

int ThisThreadNice() {
  errno = 0;
  int n = ::getpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()));
  return errno == 0 ? n : 0;
}

void LowerThisThreadPriority(int by) {
  if (by <= 0) return;
  int target = std::min(19, ThisThreadNice() + by);
  (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), target);
}

}  // namespace custos
