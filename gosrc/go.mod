module gomask

go 1.24
