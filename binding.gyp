{
  "targets": [
    {
      "target_name": "snapkv_mmap",
      "sources": ["native/mmap.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
