# shellcheck shell=bash
# What the Lambda runtime the template names (provided.al2023) offers: its glibc, the newest
# symbol version an artifact may need (tests/stack/packaged.rs checks each bootstrap against it).
LAMBDA_GLIBC="2.34"
export LAMBDA_GLIBC
