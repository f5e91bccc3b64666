"""An independent verifier: PyJWT, starting from the issuer URL alone.

usage: verify_jwt.py ISSUER AUDIENCE TOKEN
Reads {ISSUER}/.well-known/openid-configuration, checks that it names ISSUER, fetches its
jwks_uri, picks the key by the token's kid and verifies with the algorithms the discovery
document lists. Prints the claims as JSON and exits 0, or prints why and exits 1.
"""

import json
import sys
import urllib.request

import jwt


def main() -> int:
    issuer, audience, token = sys.argv[1:4]
    with urllib.request.urlopen(issuer + "/.well-known/openid-configuration", timeout=10) as response:
        discovery = json.load(response)
    if discovery.get("issuer") != issuer:
        print(f"discovery names issuer {discovery.get('issuer')!r}, not {issuer!r}")
        return 1
    algorithms = discovery.get("id_token_signing_alg_values_supported") or []
    try:
        key = jwt.PyJWKClient(discovery["jwks_uri"], cache_keys=False).get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=algorithms,
            audience=audience,
            issuer=issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
    except jwt.PyJWTError as error:
        print(f"refused: {type(error).__name__}: {error}")
        return 1
    print(json.dumps(claims))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as error:  # anything but a refusal is the verifier's own failure
        print(f"verifier failed: {type(error).__name__}: {error}", file=sys.stderr)
        sys.exit(3)
