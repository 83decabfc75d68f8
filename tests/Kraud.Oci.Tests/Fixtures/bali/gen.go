// Makes signed-by-go.tar.gz: a bali image signed the way bali itself signs (Go's crypto/ed25519, Ed25519ph with
// context "bali", trailer 8 zero bytes + "iksig\0\0\0" + signature, inside the gzip), with the secret of
// identitykit's own test (go/identity_test.go), whose identity is cDFXSA73D3H4MOM7HPVUYWUOABQI7D5ERUR7QXOQPJD2HOYYSJCIYFWY.
// The committed file lets the tests check our verifier against an independent signer without Go installed.
// Regenerate (Go >= 1.20, standard library only): go run gen.go
package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto"
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/base32"
	"os"
	"strings"
)

func main() {
	const secret = "cCOMZM5Z2HHCSVE65EDABQYXZHFA4AFH7NCTFG2VJ6V5OX7OXI33PMUQ"
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ToUpper(secret[1:]))
	if err != nil {
		panic(err)
	}
	seed := raw[1:33] // [type byte, 32-byte seed, crc8]
	key := ed25519.NewKeyFromSeed(seed)

	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	content := []byte("hello from bali\n")
	if err := tw.WriteHeader(&tar.Header{Name: "hello.txt", Mode: 0644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
		panic(err)
	}
	tw.Write(content)
	tw.Close()

	sum := sha512.Sum512(tarBuf.Bytes())
	sig, err := key.Sign(nil, sum[:], &ed25519.Options{Hash: crypto.SHA512, Context: "bali"})
	if err != nil {
		panic(err)
	}

	var out bytes.Buffer
	gz := gzip.NewWriter(&out)
	gz.Write(tarBuf.Bytes())
	gz.Write([]byte{0, 0, 0, 0, 0, 0, 0, 0})
	gz.Write([]byte{'i', 'k', 's', 'i', 'g', 0, 0, 0})
	gz.Write(sig)
	gz.Close()
	if err := os.WriteFile("signed-by-go.tar.gz", out.Bytes(), 0644); err != nil {
		panic(err)
	}
}
