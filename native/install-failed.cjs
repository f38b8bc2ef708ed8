// Why: the mmap addon is an accelerator, not a requirement: when it cannot be built (no compiler,
// no Node headers), installation still succeeds and the AppendLog appends with write(2).
console.warn('snapkv: the native mmap addon (native/mmap.c) was not built; the AppendLog will use write(2)/pread(2). See README "Native addon".');
