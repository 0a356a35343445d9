"""Post media: fetching previews safely, decoding them safely, and what Tesoro learns from the pixels.

- `fetch`: `SafeFetcher`, the one way Tesoro downloads an untrusted image URL (allowed hosts,
  public addresses, size and time caps, content sniffing).
- `images`: safe decoding (a pixel cap against decompression bombs), metadata stripped,
  the thumbnail, its blurhash placeholder, the perceptual hash and the photo-quality score.
- `pipeline`: the stage the media job runs: due media items, fetched and processed one by one,
  each failure recorded on its item and retried with backoff.
"""
