package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type pkiFiles struct {
	caPEM       []byte
	servingCert string
	servingKey  string
	saPrivate   string
	saPublic    string
}

func parseURL(raw string) ([]url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	return []url.URL{*u}, nil
}

func newKey() (*ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
}

// writePKI creates a throwaway CA, a serving certificate it signs for the loopback addresses and
// the in-cluster names of the `kubernetes` Service, and the service-account token signing key.
// ca.crt is also copied into stateDir, where clients look for it.
func writePKI(certDir, stateDir string) (*pkiFiles, error) {
	if err := os.MkdirAll(certDir, 0o700); err != nil {
		return nil, err
	}
	now := time.Now()
	caKey, _, err := newKey()
	if err != nil {
		return nil, err
	}
	caSerial, err := serial()
	if err != nil {
		return nil, err
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{CommonName: "gko-testenv-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(7 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	caPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})

	servingKey, servingKeyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	servingSerial, err := serial()
	if err != nil {
		return nil, err
	}
	servingTemplate := &x509.Certificate{
		SerialNumber: servingSerial,
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(7 * 24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames: []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
			"kubernetes.default.svc.cluster.local"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1"), net.ParseIP("10.0.0.1")},
	}
	servingDER, err := x509.CreateCertificate(rand.Reader, servingTemplate, caCert, &servingKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}

	_, saKeyPEM, err := newKey()
	if err != nil {
		return nil, err
	}
	saKey, err := x509.ParseECPrivateKey(mustPEM(saKeyPEM))
	if err != nil {
		return nil, err
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}

	files := &pkiFiles{
		caPEM:       caPEM,
		servingCert: filepath.Join(certDir, "serving.crt"),
		servingKey:  filepath.Join(certDir, "serving.key"),
		saPrivate:   filepath.Join(certDir, "sa.key"),
		saPublic:    filepath.Join(certDir, "sa.pub"),
	}
	writes := []struct {
		path    string
		content []byte
		mode    os.FileMode
	}{
		{filepath.Join(certDir, "ca.crt"), caPEM, 0o644},
		{filepath.Join(stateDir, "ca.crt"), caPEM, 0o644},
		{files.servingCert, append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: servingDER}), caPEM...), 0o644},
		{files.servingKey, servingKeyPEM, 0o600},
		{files.saPrivate, saKeyPEM, 0o600},
		{files.saPublic, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER}), 0o644},
	}
	for _, w := range writes {
		if err := os.WriteFile(w.path, w.content, w.mode); err != nil {
			return nil, err
		}
	}
	return files, nil
}

func mustPEM(data []byte) []byte {
	block, _ := pem.Decode(data)
	if block == nil {
		panic("generated PEM does not decode")
	}
	return block.Bytes
}

type user struct {
	role   string // admin, operator, nobody: names the files <role>.token and <role>.kubeconfig
	name   string
	groups []string
	token  string
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// writeTokens writes the static token file the apiserver authenticates against, and each user's
// bearer token into <role>.token.
func writeTokens(stateDir, operatorUser string) ([]user, error) {
	users := []user{
		{role: "admin", name: "testenv-admin", groups: []string{"system:masters"}},
		{role: "operator", name: operatorUser},
		{role: "nobody", name: "testenv-nobody"},
	}
	// A service-account user name gets the groups the apiserver gives real service-account tokens,
	// so bindings to those groups behave as in a cluster.
	if parts := strings.Split(operatorUser, ":"); len(parts) == 4 && parts[0] == "system" && parts[1] == "serviceaccount" {
		users[1].groups = []string{"system:serviceaccounts", "system:serviceaccounts:" + parts[2]}
	}
	var csv strings.Builder
	for i := range users {
		token, err := randomToken()
		if err != nil {
			return nil, err
		}
		users[i].token = token
		// token,user,uid,"group1,group2"
		fmt.Fprintf(&csv, "%s,%s,%s,\"%s\"\n", token, users[i].name, users[i].name, strings.Join(users[i].groups, ","))
		if err := writeFile(stateDir, users[i].role+".token", token+"\n", 0o600); err != nil {
			return nil, err
		}
	}
	if err := writeFile(stateDir, "tokens.csv", csv.String(), 0o600); err != nil {
		return nil, err
	}
	return users, nil
}

// writeKubeconfig writes a single-context kubeconfig for one user: `kubeconfig` for the admin,
// `<role>.kubeconfig` for the others.
func writeKubeconfig(stateDir string, u user, server string, caPEM []byte) error {
	name := u.role + ".kubeconfig"
	if u.role == "admin" {
		name = "kubeconfig"
	}
	content := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: testenv
  cluster:
    server: %s
    certificate-authority-data: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: testenv-%s
  context:
    cluster: testenv
    user: %s
current-context: testenv-%s
preferences: {}
`, server, base64.StdEncoding.EncodeToString(caPEM), u.role, u.token, u.role, u.role, u.role)
	return writeFile(stateDir, name, content, 0o600)
}
