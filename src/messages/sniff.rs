//! What an upload claims to be is not trusted: an image is recognised by its
//! first bytes.

/// The image formats the `image` endpoint accepts, with their extension.
pub fn image_format(bytes: &[u8]) -> Option<&'static str> {
    const SIGNATURES: [(&[u8], &str); 8] = [
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"\xff\xd8\xff", "jpg"),
        (b"GIF87a", "gif"),
        (b"GIF89a", "gif"),
        (b"II*\0", "tiff"),
        (b"MM\0*", "tiff"),
        // Icon (type 1); type 2 would be a cursor.
        (b"\0\0\x01\0", "ico"),
        // A bitmap's file header is 14 bytes; "BM" alone is too weak.
        (b"BM", "bmp"),
    ];
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return Some("webp");
    }
    SIGNATURES
        .iter()
        .find(|(magic, ext)| bytes.starts_with(magic) && (*ext != "bmp" || bytes.len() >= 14))
        .map(|(_, ext)| *ext)
}

#[cfg(test)]
mod tests {
    use super::image_format;

    #[test]
    fn recognises_the_seven_formats_and_nothing_else() {
        let mut webp = b"RIFF\x10\0\0\0WEBPVP8 ".to_vec();
        webp.extend([0; 8]);
        for (bytes, ext) in [
            (&b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..], "png"),
            (b"\xff\xd8\xff\xe0\0\x10JFIF", "jpg"),
            (b"GIF89a\x01\0\x01\0", "gif"),
            (&webp, "webp"),
            (b"BM\x3a\0\0\0\0\0\0\0\x36\0\0\0", "bmp"),
            (b"II*\0\x08\0\0\0", "tiff"),
            (b"MM\0*\0\0\0\x08", "tiff"),
            (b"\0\0\x01\0\x01\0\x10\x10", "ico"),
        ] {
            assert_eq!(image_format(bytes), Some(ext));
        }
        for bytes in [
            &b""[..],
            b"hello, world",
            b"%PDF-1.7",
            b"BM",
            b"RIFF\0\0\0\0WAVEfmt ",
            b"\0\0\x02\0",
            b"{\"image\": 1}",
        ] {
            assert_eq!(image_format(bytes), None, "{bytes:?}");
        }
    }
}
