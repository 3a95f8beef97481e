package wsmask

// maskReference is the specification: RFC 6455 section 5.3 written
// byte by byte. Tests and fuzz targets compare every fast path against it.
func maskReference(dst, src []byte, key [KeySize]byte, pos int) int {
	for i, b := range src {
		dst[i] = b ^ key[(pos+i)%KeySize]
	}
	return (pos + len(src)) % KeySize
}
