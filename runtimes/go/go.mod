module asyncruntimelab/go

go 1.24
