{
  "targets": [
    {
      "target_name": "kura_io",
      "sources": ["native/kura_io.c"],
      "cflags": ["-O2", "-Wall"]
    }
  ]
}
