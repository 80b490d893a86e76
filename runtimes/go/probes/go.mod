module asyncruntimelab/go/probes

go 1.24
