"""Software bills of materials (CycloneDX, SPDX 2.3) read into a device's or gateway's ``software`` list; docs/sbom.md."""
