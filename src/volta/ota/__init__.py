"""Over-the-air updates, Uptane style, on python-tuf.

- `roles`: one TUF repository's signed roles (root chain, targets, snapshot, timestamp).
- `image_repo`: the image repository (images per ECU type and hardware variant, delegated to
  suppliers); `director`: per-vehicle targets under one root.
- `keys`, `keyring`: key files (private 0600) and the keys of each role; `cli`: `volta ota keys`.
- `storage`: both repositories saved to a folder as they are served, and opened again.
- `serving`: the files both repositories serve, by path, and an in-process python-tuf fetcher.
- `ecu`: an ECU with A/B slots; `version`: version order; `agreement`: Uptane's check that
  both repositories agree on an image; `primary`: the vehicle's check-in (verify, download,
  install, health check, roll back, report).
- `rollout`: a campaign's policy (waves, thresholds, timeout, retries) and each car's progress;
  `campaign`: the campaign state machine (pure: no clock, no I/O).
- `targeting`: which vehicles a campaign updates with which image (`plan`), refused before it
  starts when it matches no vehicle or lacks an image for a selected hardware variant.
- `runner`: campaigns as a service (plan, store, act, report, tick, sign director targets, push);
  `campaign_store`: their tables in the registry's database; `campaign_api`: their routes;
  `inventory`: the fleet from the twin; `windows`: maintenance windows; `dtc`: the trouble-code
  halt; `service`: the runner built from a server's settings.
- `upload`: a supplier's signed targets metadata, checked before it is served.
- `targets`: what a target says beyond length and hashes (its `custom` fields).
- `errors`: OTA errors; python-tuf's errors are translated into them at the boundary.

See docs/ota.md for the trust model and what is not built yet.
"""
