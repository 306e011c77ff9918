"""The native worker pool behind `tapegrad_parallel_for`, as one hand-written LLVM module.

    text = module_text("tg_pool", "x86_64")   # LLVM IR; the entry fills a table of addresses

Why native: the split loops of generated code (codegen/emit.py) hand a range to another
thread on every call.  Through Python (a queue, the GIL, a semaphore) that took tens of
microseconds and made two threads only ~1.15x one on W2 at 1e6.  Here the dispatcher
publishes the job with one atomic increment; a worker that is spinning sees it within
a fraction of a microsecond, and one that fell asleep (after SPIN_CYCLES without work)
is woken by a futex.  Nothing here touches Python, so the GIL plays no part.

The pool's state is one block of memory the runtime allocates and never frees
(runtime/native_pool.py), laid out as the offsets below (each hot word on its own cache
line); the module holds a pointer to it, set with `set_state`.  Functions the pool needs
from libc (pthread_create, pthread_detach, pthread_sigmask, syscall) are read from the
block too, written there by the runtime with ctypes: the module names nothing outside
itself, so it links and loads as the generated code does.

Protocol (one job at a time per state; `threads` = workers + the caller):
- A caller takes `busy` with a compare-and-swap; if another thread holds it, the caller
  runs the whole range alone (the same bits: parts are elementwise).  The first caller
  starts the workers (pthread_create), so a forked child, whose state the runtime
  zeroes, starts its own.
- It writes the job (part, buffers, n, the caller's MXCSR), publishes COUNTER = the
  job's epoch, its chunk count (work / CHUNK_WORK, from one to CHUNKS per thread:
  finer chunks end a big loop with less waiting, each costs a claim) and the next
  chunk (0), and
  increments `epoch`.  The caller and every worker then claim chunks from COUNTER
  until none is left (run_chunks); the caller waits until DONE counts them all.
  Chunks, not one fixed range per thread: on a machine where a worker is not running
  (other processes have the cores) the caller takes its chunks, so a split loop never
  waits long for a thread that never came.
- A stall (the caller waited for a worker's chunk longer than it worked itself and
  than STALL_CYCLES: a worker preempted while holding a chunk, on a machine with
  more runnable threads than cores) makes the next 2^penalty jobs run alone; the
  penalty grows with each stall and shrinks with each job that went well.  BACKOFF
  and PENALTY are touched only by the holder of `busy`.
- Both waits spin (with `pause`) up to SPIN_CYCLES of the cycle counter, then sleep on
  the futex of the word they wait on; the waker calls FUTEX_WAKE only when a sleeper
  announced itself (seq_cst on both sides, Dekker style, so no wake-up is lost).
- `stop` (interpreter exit, a test restarting the pool) takes `busy` for good, sets
  STOP and wakes everyone; workers leave their loop and decrement ALIVE (which counts
  them from before pthread_create, so a wait for 0 also waits for a late starter).
"""
from __future__ import annotations

#: byte offsets in the state block
BUSY, STARTED, ALIVE, STOP = 0, 4, 8, 12          # i32 each (one cache line)
BACKOFF, PENALTY = 16, 20                          # i32: jobs to run alone; its exponent
EPOCH, SLEEPERS = 64, 68                           # i32: the workers' futex word
COUNTER = 128                                      # i64: epoch << 32 | chunks << 16 | next
DONE, CALLER_SLEEPING = 192, 196                   # i32: the caller's futex word
JOB_PART, JOB_BUFFERS, JOB_N, JOB_MXCSR = 256, 264, 272, 280
#: the fields above are zeroed in a forked child (no workers, no job, not busy)
DYNAMIC_BYTES = 320
THREADS, SPIN_CYCLES, MIN_WORK, FUTEX_NR, CHUNKS = 320, 328, 336, 344, 352  # i64 settings
PTHREAD_CREATE, PTHREAD_DETACH, PTHREAD_SIGMASK, SYSCALL = 360, 368, 376, 384  # ptr
CHUNK_WORK = 392                    # i64: the least work worth a chunk of its own
STALL_CYCLES = 400                  # i64: a wait for workers longer than this is a stall
MAX_PENALTY = 5                     # at most 2^5 jobs alone after a stall: retry soon
MAX_THREADS = 256
RECORDS = 512                       # worker k's argument: [ptr state, i64 k], 16 bytes
TIDS = RECORDS + 16 * MAX_THREADS   # pthread_t of worker k
SIGSET = TIDS + 8 * MAX_THREADS     # 128 bytes, every bit set: workers block all signals
STATE_BYTES = SIGSET + 128
#: most chunks of one job (the counter's 16-bit fields)
MAX_CHUNKS = 1 << 15

#: STARTED values
NOT_STARTED, RUNNING, FAILED = 0, 2, 3
FUTEX_WAIT_PRIVATE, FUTEX_WAKE_PRIVATE = 128, 129
#: spins between two reads of the cycle counter, and the most spins whatever it says
_CLOCK_EVERY, _SPIN_CAP = 16, 1 << 22

#: the table the entry point fills, in this order
TABLE = ("parallel_for", "set_state", "stop")


def _pause(arch: str) -> str:
    if arch in ("x86_64", "amd64"):
        return "call void @llvm.x86.sse2.pause()"
    if arch in ("aarch64", "arm64"):
        return 'call void asm sideeffect "yield", ""()'
    return ""


def _at(field: int, name: str, state: str = "%s") -> str:
    return f"  %{name} = getelementptr i8, ptr {state}, i64 {field}"


def _futex_function() -> str:
    """futex(state, word, op, value): syscall(FUTEX_NR, word, op, value, NULL)."""
    return "\n".join([
        "define internal void @futex(ptr %s, ptr %word, i64 %op, i64 %val) {",
        _at(SYSCALL, "fp"), _at(FUTEX_NR, "nrp"),
        "  %fn = load ptr, ptr %fp, align 8",
        "  %nr = load i64, ptr %nrp, align 8",
        "  %r = call i64 (i64, ...) %fn(i64 %nr, ptr %word, i64 %op, i64 %val, ptr null, "
        "ptr null, i64 0)",
        "  ret void", "}", ""])


def _spin_then_sleep(name: str, pause: str, word: int, flag: int, *, until_equal: bool,
                     flag_is_counter: bool) -> str:
    """A function waiting on the i32 at `word`: until it equals %target (the caller
    waiting for its job's chunks to be done), or until it differs from %target (a worker
    waiting for the next epoch).  Returns the value seen.  Spins (reading the cycle
    counter every _CLOCK_EVERY pauses), then announces itself at `flag` (a count of
    sleepers, or a 0/1 flag) and sleeps on the futex while the word is unchanged."""
    done = "icmp eq i32 %v, %target" if until_equal else "icmp ne i32 %v, %target"
    announce = ("  %a = atomicrmw add ptr %fl, i32 1 seq_cst" if flag_is_counter
                else "  store atomic i32 1, ptr %fl seq_cst, align 4")
    retract = ("  %r = atomicrmw sub ptr %fl, i32 1 seq_cst" if flag_is_counter
               else "  store atomic i32 0, ptr %fl seq_cst, align 4")
    return "\n".join([
        f"define internal i32 @{name}(ptr %s, i32 %target) {{",
        "entry:", _at(word, "w"), _at(flag, "fl"), _at(SPIN_CYCLES, "bp"),
        "  %budget = load i64, ptr %bp, align 8",
        "  br label %restart",
        "restart:",
        "  %t0 = call i64 @llvm.readcyclecounter()",
        "  br label %spin",
        "spin:",
        "  %i = phi i64 [ 0, %restart ], [ %i1, %next ]",
        "  %v = load atomic i32, ptr %w acquire, align 4",
        f"  %done = {done}",
        "  br i1 %done, label %out, label %pause",
        "pause:",
        f"  {pause}" if pause else "",
        "  %i1 = add i64 %i, 1",
        f"  %low = and i64 %i1, {_CLOCK_EVERY - 1}",
        "  %look = icmp eq i64 %low, 0",
        "  br i1 %look, label %clock, label %next",
        "clock:",
        "  %t = call i64 @llvm.readcyclecounter()",
        "  %dt = sub i64 %t, %t0",
        "  %late = icmp uge i64 %dt, %budget",
        f"  %capped = icmp ugt i64 %i1, {_SPIN_CAP}",
        "  %give_up = or i1 %late, %capped",
        "  br i1 %give_up, label %sleep, label %next",
        "next:",
        "  br label %spin",
        "sleep:",
        announce,
        "  %v2 = load atomic i32, ptr %w seq_cst, align 4",
        f"  %awake = {done.replace('%v,', '%v2,')}",
        "  br i1 %awake, label %woke, label %wait",
        "wait:",
        "  %wv = zext i32 %v2 to i64",
        f"  call void @futex(ptr %s, ptr %w, i64 {FUTEX_WAIT_PRIVATE}, i64 %wv)",
        "  br label %woke",
        "woke:",
        retract,
        "  br label %restart",
        "out:",
        "  ret i32 %v",
        "}", ""])


def _bound_function() -> str:
    """Where chunk c of `chunks` starts in [0, n): n*c/chunks, rounded down to a
    multiple of 16 when every chunk holds at least 16 (vector loops start aligned, and
    two threads never write one cache line of a contiguous float array); n for the last."""
    return "\n".join([
        "define internal i64 @bound(i64 %n, i64 %c, i64 %chunks) {",
        "entry:",
        "  %last = icmp sge i64 %c, %chunks",
        "  br i1 %last, label %all, label %split",
        "all:",
        "  ret i64 %n",
        "split:",
        "  %whole = udiv i64 %n, %chunks",   # floor(n c / chunks) without overflow, and no
        "  %rest = urem i64 %n, %chunks",    # 128-bit division (a libgcc call)
        "  %wc = mul i64 %whole, %c",
        "  %rc = mul i64 %rest, %c",
        "  %rct = udiv i64 %rc, %chunks",
        "  %q = add i64 %wc, %rct",
        "  %each = shl i64 %chunks, 4",
        "  %wide = icmp sge i64 %n, %each",
        "  %rounded = and i64 %q, -16",
        "  %b = select i1 %wide, i64 %rounded, i64 %q",
        "  ret i64 %b",
        "}", ""])


def _mxcsr(arch: str) -> tuple[str, str, str]:
    """Declarations, reading the caller's SSE control register into %mx (i64), and
    loading %job_mx into a worker's before it runs a chunk: flush-to-zero and rounding
    are per thread, and every chunk must compute as the caller does
    (runtime/denormals.py).  Elsewhere nothing is carried over."""
    if arch not in ("x86_64", "amd64"):
        return "", "  %mx = add i64 0, 0", "  br label %compute"
    decl = ("declare void @llvm.x86.sse.stmxcsr(ptr)\n"
            "declare void @llvm.x86.sse.ldmxcsr(ptr)\n")
    read = "\n".join(["  %mxp = alloca i32, align 4",
                      "  call void @llvm.x86.sse.stmxcsr(ptr %mxp)",
                      "  %mx32 = load i32, ptr %mxp, align 4",
                      "  %mx = zext i32 %mx32 to i64"])
    write = "\n".join(["  call void @llvm.x86.sse.stmxcsr(ptr %mine)",
                       "  %mine32 = load i32, ptr %mine, align 4",
                       "  %want32 = trunc i64 %job_mx to i32",
                       "  %same_mx = icmp eq i32 %mine32, %want32",
                       "  br i1 %same_mx, label %compute, label %set_mx",
                       "set_mx:",
                       "  store i32 %want32, ptr %mine, align 4",
                       "  call void @llvm.x86.sse.ldmxcsr(ptr %mine)",
                       "  br label %compute"])
    return decl, read, write


def _run_chunks_function(arch: str) -> str:
    """run_chunks(state, e): claim chunks of job `e` from COUNTER and run them, until
    none is left or the counter belongs to another job.  The claim is a compare-and-swap
    of the whole word, whose own chunk count bounds it, so a thread that saw job e late
    can never take a chunk of a later job; the job's fields are read after a claim,
    while the job cannot end (its chunk is not done), so they are job e's."""
    _, _, write_mx = _mxcsr(arch)
    return "\n".join([
        "define internal void @run_chunks(ptr %s, i32 %e) {",
        "entry:",
        _at(COUNTER, "cnt"), _at(DONE, "done"), _at(CALLER_SLEEPING, "csp"),
        _at(JOB_PART, "partp"), _at(JOB_BUFFERS, "bufp"), _at(JOB_N, "np"),
        _at(JOB_MXCSR, "mxp"),
        "  %mine = alloca i32, align 4",
        "  %e64 = zext i32 %e to i64",
        "  br label %grab",
        "grab:",
        "  %w = load atomic i64, ptr %cnt acquire, align 8",
        "  %we = lshr i64 %w, 32",
        "  %ours = icmp eq i64 %we, %e64",
        "  br i1 %ours, label %look, label %out",
        "look:",
        "  %wn = lshr i64 %w, 16",
        "  %chunks = and i64 %wn, 65535",
        "  %c = and i64 %w, 65535",
        "  %left = icmp ult i64 %c, %chunks",
        "  br i1 %left, label %claim, label %out",
        "claim:",
        "  %w1 = add i64 %w, 1",
        "  %x = cmpxchg ptr %cnt, i64 %w, i64 %w1 acq_rel acquire, align 8",
        "  %ok = extractvalue { i64, i1 } %x, 1",
        "  br i1 %ok, label %run, label %grab",
        "run:",
        "  %part = load ptr, ptr %partp, align 8",
        "  %buf = load ptr, ptr %bufp, align 8",
        "  %n = load i64, ptr %np, align 8",
        "  %job_mx = load i64, ptr %mxp, align 8",
        write_mx,
        "compute:",
        "  %c1 = add i64 %c, 1",
        "  %lo = call i64 @bound(i64 %n, i64 %c, i64 %chunks)",
        "  %hi = call i64 @bound(i64 %n, i64 %c1, i64 %chunks)",
        "  %some = icmp slt i64 %lo, %hi",
        "  br i1 %some, label %call, label %finish",
        "call:",
        "  call void %part(ptr %buf, i64 %lo, i64 %hi)",
        "  br label %finish",
        "finish:",
        "  %d = atomicrmw add ptr %done, i32 1 seq_cst",
        "  %d1 = add i32 %d, 1",
        "  %n32 = trunc i64 %chunks to i32",
        "  %last = icmp eq i32 %d1, %n32",
        "  br i1 %last, label %tell, label %grab",
        "tell:",
        "  %cs = load atomic i32, ptr %csp seq_cst, align 4",
        "  %sleeping = icmp ne i32 %cs, 0",
        "  br i1 %sleeping, label %wake, label %grab",
        "wake:",
        f"  call void @futex(ptr %s, ptr %done, i64 {FUTEX_WAKE_PRIVATE}, i64 1)",
        "  br label %grab",
        "out:",
        "  ret void",
        "}", ""])


def _worker_function() -> str:
    return "\n".join([
        "define internal ptr @worker_main(ptr %rec) {",
        "entry:",
        "  %s = load ptr, ptr %rec, align 8",
        _at(PTHREAD_SIGMASK, "smp"), _at(SIGSET, "set"), _at(ALIVE, "alive"),
        _at(STOP, "stopp"),
        "  %sigmask = load ptr, ptr %smp, align 8",
        "  %r0 = call i32 %sigmask(i32 0, ptr %set, ptr null)",  # SIG_BLOCK: every signal
        "  br label %loop",
        "loop:",
        "  %seen = phi i32 [ 0, %entry ], [ %e, %job ]",
        "  %e = call i32 @await_epoch(ptr %s, i32 %seen)",
        "  %stop = load atomic i32, ptr %stopp acquire, align 4",
        "  %stopping = icmp ne i32 %stop, 0",
        "  br i1 %stopping, label %exit, label %job",
        "job:",
        "  call void @run_chunks(ptr %s, i32 %e)",
        "  br label %loop",
        "exit:",
        "  %a1 = atomicrmw sub ptr %alive, i32 1 seq_cst",
        "  ret ptr null",
        "}", ""])


def _start_function() -> str:
    """Start workers 1 .. threads-1 (detached); with fewer than asked, `threads` shrinks
    to what started, and with none the state is FAILED (callers then run alone)."""
    return "\n".join([
        "define internal void @start(ptr %s) {",
        "entry:",
        _at(THREADS, "thp"), _at(PTHREAD_CREATE, "pcp"), _at(PTHREAD_DETACH, "pdp"),
        _at(STARTED, "stp"), _at(ALIVE, "alive"),
        "  %threads = load i64, ptr %thp, align 8",
        "  %create = load ptr, ptr %pcp, align 8",
        "  %detach = load ptr, ptr %pdp, align 8",
        "  br label %check",
        "check:",
        "  %k = phi i64 [ 1, %entry ], [ %k1, %created ]",
        "  %more = icmp slt i64 %k, %threads",
        "  br i1 %more, label %make, label %end",
        "make:",
        "  %roff = mul i64 %k, 16",
        f"  %roff2 = add i64 %roff, {RECORDS}",
        "  %rec = getelementptr i8, ptr %s, i64 %roff2",
        "  store ptr %s, ptr %rec, align 8",
        "  %reck = getelementptr i8, ptr %rec, i64 8",
        "  store i64 %k, ptr %reck, align 8",
        "  %toff = mul i64 %k, 8",
        f"  %toff2 = add i64 %toff, {TIDS}",
        "  %tid = getelementptr i8, ptr %s, i64 %toff2",
        "  %a0 = atomicrmw add ptr %alive, i32 1 seq_cst",  # the worker's, until it leaves
        "  %r = call i32 %create(ptr %tid, ptr null, ptr @worker_main, ptr %rec)",
        "  %ok = icmp eq i32 %r, 0",
        "  br i1 %ok, label %created, label %not_created",
        "not_created:",
        "  %a1 = atomicrmw sub ptr %alive, i32 1 seq_cst",
        "  br label %end",
        "created:",
        "  %t = load i64, ptr %tid, align 8",
        "  %d = call i32 %detach(i64 %t)",
        "  %k1 = add i64 %k, 1",
        "  br label %check",
        "end:",
        "  %made = phi i64 [ %k, %check ], [ %k, %not_created ]",
        "  %none = icmp sle i64 %made, 1",
        "  br i1 %none, label %failed, label %running",
        "failed:",
        f"  store atomic i32 {FAILED}, ptr %stp release, align 4",
        "  ret void",
        "running:",
        "  store i64 %made, ptr %thp, align 8",
        f"  store atomic i32 {RUNNING}, ptr %stp release, align 4",
        "  ret void",
        "}", ""])


def _dispatch_function(arch: str) -> str:
    """tg_pool_parallel_for(part, buffers, n, work): `part` over [0, n), in chunks shared
    with the pool's workers when `work` (elements x cost) reaches the state's MIN_WORK."""
    _, read_mx, _ = _mxcsr(arch)
    return "\n".join([
        "define void @tg_pool_parallel_for(ptr %part, ptr %buffers, i64 %n, i64 %work) {",
        "entry:",
        "  %s = load atomic ptr, ptr @state acquire, align 8",
        "  %none = icmp eq ptr %s, null",
        "  br i1 %none, label %alone, label %sized",
        "sized:",
        _at(THREADS, "thp"), _at(MIN_WORK, "mwp"), _at(BUSY, "busy"), _at(STARTED, "stp"),
        "  %threads0 = load i64, ptr %thp, align 8",
        "  %min = load i64, ptr %mwp, align 8",
        "  %small = icmp slt i64 %work, %min",
        "  %single = icmp sle i64 %threads0, 1",
        "  %tiny = icmp slt i64 %n, 2",
        "  %a = or i1 %small, %single",
        "  %b = or i1 %a, %tiny",
        "  br i1 %b, label %alone, label %claim",
        "claim:",
        "  %x = cmpxchg ptr %busy, i32 0, i32 1 acquire monotonic, align 4",
        "  %mine = extractvalue { i32, i1 } %x, 1",
        "  br i1 %mine, label %ready, label %alone",
        "ready:",
        "  %st = load atomic i32, ptr %stp acquire, align 4",
        f"  %running = icmp eq i32 %st, {RUNNING}",
        "  br i1 %running, label %go, label %maybe_start",
        "maybe_start:",
        f"  %fresh = icmp eq i32 %st, {NOT_STARTED}",
        "  br i1 %fresh, label %start, label %give_back",
        "start:",
        "  call void @start(ptr %s)",
        "  %st2 = load atomic i32, ptr %stp acquire, align 4",
        f"  %running2 = icmp eq i32 %st2, {RUNNING}",
        "  br i1 %running2, label %go, label %give_back",
        "give_back:",
        "  store atomic i32 0, ptr %busy release, align 4",
        "  br label %alone",
        "go:",
        # after a stall (below), the next BACKOFF jobs run alone
        _at(BACKOFF, "bop"),
        "  %bo = load i32, ptr %bop, align 4",
        "  %backing = icmp sgt i32 %bo, 0",
        "  br i1 %backing, label %back_off, label %publish",
        "back_off:",
        "  %bo1 = sub i32 %bo, 1",
        "  store i32 %bo1, ptr %bop, align 4",
        "  br label %give_back",
        "publish:",
        read_mx,
        _at(CHUNKS, "chp"), _at(JOB_PART, "partp"), _at(JOB_BUFFERS, "bufp"),
        _at(JOB_N, "np"), _at(JOB_MXCSR, "mxcp"), _at(DONE, "done"), _at(COUNTER, "cnt"),
        _at(EPOCH, "ep"), _at(SLEEPERS, "slp"),
        _at(CHUNK_WORK, "cwp"),
        # chunks: work / CHUNK_WORK, at least one per thread, at most CHUNKS per thread
        "  %threads = load i64, ptr %thp, align 8",
        "  %per = load i64, ptr %chp, align 8",
        "  %most = mul i64 %threads, %per",
        "  %cw = load i64, ptr %cwp, align 8",
        "  %by_work = sdiv i64 %work, %cw",
        "  %over = icmp sgt i64 %by_work, %most",
        "  %w1 = select i1 %over, i64 %most, i64 %by_work",
        "  %under = icmp slt i64 %w1, %threads",
        "  %want = select i1 %under, i64 %threads, i64 %w1",
        "  %fewer = icmp slt i64 %n, %want",
        "  %c0 = select i1 %fewer, i64 %n, i64 %want",
        f"  %cap = icmp sgt i64 %c0, {MAX_CHUNKS}",
        f"  %chunks = select i1 %cap, i64 {MAX_CHUNKS}, i64 %c0",
        "  store ptr %part, ptr %partp, align 8",
        "  store ptr %buffers, ptr %bufp, align 8",
        "  store i64 %n, ptr %np, align 8",
        "  store i64 %mx, ptr %mxcp, align 8",
        "  store atomic i32 0, ptr %done monotonic, align 4",
        # only the holder of `busy` changes the epoch: the next one is known before
        # the counter that names it is published
        "  %cur = load atomic i32, ptr %ep monotonic, align 4",
        "  %e = add i32 %cur, 1",
        "  %e64 = zext i32 %e to i64",
        "  %hi32 = shl i64 %e64, 32",
        "  %mid = shl i64 %chunks, 16",
        "  %word = or i64 %hi32, %mid",
        "  store atomic i64 %word, ptr %cnt release, align 8",
        "  %old = atomicrmw add ptr %ep, i32 1 seq_cst",
        "  %sl = load atomic i32, ptr %slp seq_cst, align 4",
        "  %asleep = icmp ne i32 %sl, 0",
        "  br i1 %asleep, label %wake, label %share",
        "wake:",
        f"  call void @futex(ptr %s, ptr %ep, i64 {FUTEX_WAKE_PRIVATE}, i64 2147483647)",
        "  br label %share",
        "share:",
        "  %t0 = call i64 @llvm.readcyclecounter()",
        "  call void @run_chunks(ptr %s, i32 %e)",
        "  %t1 = call i64 @llvm.readcyclecounter()",
        "  %n32 = trunc i64 %chunks to i32",
        "  %z = call i32 @await_done(ptr %s, i32 %n32)",
        "  %t2 = call i64 @llvm.readcyclecounter()",
        # A stall: the caller waited for a worker's chunk longer than it worked itself
        # and longer than STALL_CYCLES (a worker preempted while holding a chunk, on a
        # machine with more runnable threads than cores).  Then run the next 2^penalty
        # jobs alone (the penalty grows with each stall, shrinks with each good job).
        "  %own = sub i64 %t1, %t0",
        "  %waited = sub i64 %t2, %t1",
        _at(STALL_CYCLES, "stp_c"), _at(PENALTY, "pnp"),
        "  %stall = load i64, ptr %stp_c, align 8",
        "  %long = icmp ugt i64 %waited, %stall",
        "  %longer = icmp ugt i64 %waited, %own",
        "  %stalled = and i1 %long, %longer",
        "  %pen = load i32, ptr %pnp, align 4",
        "  br i1 %stalled, label %penalise, label %forgive",
        "penalise:",
        "  %pen1 = add i32 %pen, 1",
        f"  %top = icmp sgt i32 %pen1, {MAX_PENALTY}",
        f"  %pen2 = select i1 %top, i32 {MAX_PENALTY}, i32 %pen1",
        "  store i32 %pen2, ptr %pnp, align 4",
        "  %jobs = shl i32 1, %pen2",
        "  store i32 %jobs, ptr %bop, align 4",
        "  br label %release",
        "forgive:",
        "  %some_pen = icmp sgt i32 %pen, 0",
        "  %pen_1 = sub i32 %pen, 1",
        "  %pen3 = select i1 %some_pen, i32 %pen_1, i32 0",
        "  store i32 %pen3, ptr %pnp, align 4",
        "  br label %release",
        "release:",
        "  store atomic i32 0, ptr %busy release, align 4",
        "  ret void",
        "alone:",
        "  call void %part(ptr %buffers, i64 0, i64 %n)",
        "  ret void",
        "}", ""])


def _stop_function() -> str:
    """stop(state) -> 1 if it retired the state (its workers leave), 0 if a job runs."""
    return "\n".join([
        "define i32 @tg_pool_stop(ptr %s) {",
        "entry:",
        _at(BUSY, "busy"), _at(STARTED, "stp"), _at(STOP, "stopp"), _at(EPOCH, "ep"),
        "  %x = cmpxchg ptr %busy, i32 0, i32 1 acquire monotonic, align 4",
        "  %mine = extractvalue { i32, i1 } %x, 1",
        "  br i1 %mine, label %retire, label %refused",
        "refused:",
        "  ret i32 0",
        "retire:",
        "  %st = load atomic i32, ptr %stp acquire, align 4",
        f"  %running = icmp eq i32 %st, {RUNNING}",
        "  br i1 %running, label %tell, label %done",
        "tell:",
        "  store atomic i32 1, ptr %stopp seq_cst, align 4",
        "  %old = atomicrmw add ptr %ep, i32 1 seq_cst",
        f"  call void @futex(ptr %s, ptr %ep, i64 {FUTEX_WAKE_PRIVATE}, i64 2147483647)",
        "  br label %done",
        "done:",
        "  ret i32 1",
        "}", ""])


def module_text(symbol: str, arch: str) -> str:
    """The module for machine `arch` (platform.machine()): the functions above,
    `symbol(ptr table)` writing TABLE's addresses, and an empty `symbol_obj` (the
    loader expects one)."""
    pause = _pause(arch)
    decl_mx, _, _ = _mxcsr(arch)
    parts = [
        "declare i64 @llvm.readcyclecounter()",
        "declare void @llvm.x86.sse2.pause()" if arch in ("x86_64", "amd64") else "",
        decl_mx,
        "@state = internal global ptr null, align 8", "",
        _futex_function(),
        _spin_then_sleep("await_epoch", pause, EPOCH, SLEEPERS, until_equal=False,
                         flag_is_counter=True),
        _spin_then_sleep("await_done", pause, DONE, CALLER_SLEEPING, until_equal=True,
                         flag_is_counter=False),
        _bound_function(), _run_chunks_function(arch), _worker_function(), _start_function(),
        _dispatch_function(arch), _stop_function(),
        "define void @tg_pool_set_state(ptr %s) {",
        "entry:",
        "  store atomic ptr %s, ptr @state release, align 8",
        "  ret void", "}", "",
    ]
    table = [f"define void @{symbol}(ptr %table) {{", "entry:"]
    for i, name in enumerate(TABLE):
        table.append(f"  %p{i} = getelementptr ptr, ptr %table, i64 {i}")
        table.append(f"  store ptr @tg_pool_{name}, ptr %p{i}, align 8")
    table += ["  ret void", "}", "", f"define void @{symbol}_obj() {{", "entry:",
              "  ret void", "}", ""]
    return "\n".join(parts + table)
