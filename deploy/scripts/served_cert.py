"""The certificate a TLS server presents for a domain (by SNI), as key=value lines.

Usage: served_cert.py DOMAIN [HOST [PORT]], HOST 127.0.0.1 and PORT 443 by default. Prints
``serial=<hex>``, ``expires=<UTC, ISO 8601>``, ``names=<DNS names, comma-separated>`` and
``issuer=<RFC 4514>``. Nothing is verified: this only reports what is served. Runs in the nginx
container, whose python3 has cryptography (certbot's dependency).
"""

import socket
import ssl
import sys

from cryptography import x509


def served(domain, host="127.0.0.1", port=443):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
    with socket.create_connection((host, port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=domain) as tls:
            return x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))


def main(argv):
    if not 1 <= len(argv) <= 3:
        print("usage: served_cert.py DOMAIN [HOST [PORT]]", file=sys.stderr)
        return 2
    domain = argv[0]
    host = argv[1] if len(argv) > 1 else "127.0.0.1"
    port = int(argv[2]) if len(argv) > 2 else 443
    cert = served(domain, host, port)
    after = getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after  # _utc: cryptography >= 42
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = []
    print(f"serial={cert.serial_number:x}")
    print("expires=" + after.strftime("%Y-%m-%dT%H:%M:%SZ"))
    print("names=" + ",".join(names))
    print("issuer=" + cert.issuer.rfc4514_string())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
