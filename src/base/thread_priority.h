#ifndef CUSTOS_SRC_BASE_THREAD_PRIORITY_H_
#define CUSTOS_SRC_BASE_THREAD_PRIORITY_H_

namespace custos {

// Raises the calling thread's nice value by `by` (Linux: nice is per
// thread; threads it creates later inherit it), at most to 19, so that
// background work of a pipeline (storing a copy, a hash lane that is not
// the slowest) gives way to its longest chain of work when cores are
// short. Lowering priority needs no privilege. A hint: failures are ignored.
void LowerThisThreadPriority(int by);

// The calling thread's nice value (for tests).
int ThisThreadNice();

}  // namespace custos

#endif  // CUSTOS_SRC_BASE_THREAD_PRIORITY_H_
