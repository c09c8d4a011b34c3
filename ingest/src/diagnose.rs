//! Turns FFmpeg's terse open failures into a reason a person can act on, by looking at the
//! file's first bytes (FFmpeg says "Invalid data found when processing input" for all of them).

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// The best explanation for why FFmpeg could not open `path`, given FFmpeg's own error.
pub fn explain_open_failure(path: Option<&Path>, ffmpeg_error: &ffmpeg_next::Error) -> String {
    let ffmpeg_text = ffmpeg_error.to_string().to_lowercase();
    let Some(path) = path else { return ffmpeg_text };
    let mut head = Vec::with_capacity(4096);
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file.take(4096).read_to_end(&mut head);
    }
    if is_iso_bmff(&head)
        && let Ok(mut file) = std::fs::File::open(path)
        && let Some(reason) = explain_iso_bmff(&mut file)
    {
        return format!("{reason} ({ffmpeg_text})");
    }
    match sniff(&head) {
        Some(reason) => format!("{reason} ({ffmpeg_text})"),
        None => ffmpeg_text,
    }
}

/// Walks the top-level boxes of an MP4/MOV file. Writers put the index (moov) at the end unless
/// told otherwise, so a recording cut off before it was finalised has a box that runs past the
/// end of the file, or no index at all.
fn explain_iso_bmff(file: &mut (impl Read + Seek)) -> Option<String> {
    let file_len = file.seek(SeekFrom::End(0)).ok()?;
    let mut offset = 0u64;
    let mut has_index = false;
    while offset + 8 <= file_len {
        file.seek(SeekFrom::Start(offset)).ok()?;
        let mut header = [0u8; 16];
        let header_len = file.read(&mut header).ok()?;
        let size32 = u32::from_be_bytes(header[..4].try_into().ok()?) as u64;
        let kind = &header[4..8];
        has_index |= kind == b"moov" || kind == b"moof";
        let size = match size32 {
            0 => file_len - offset,
            1 if header_len >= 16 => u64::from_be_bytes(header[8..16].try_into().ok()?),
            n => n,
        };
        if size < 8 {
            return Some(format!("corrupt MP4/MOV: invalid box size {size} at byte {offset}"));
        }
        if offset + size > file_len {
            let kind = String::from_utf8_lossy(kind);
            return Some(format!(
                "truncated MP4/MOV: box '{kind}' at byte {offset} needs {size} bytes but the file ends after {}{}",
                file_len - offset,
                if has_index {
                    ""
                } else {
                    "; the index (moov) is missing, so the recording was cut off before it finished"
                }
            ));
        }
        offset += size;
    }
    (!has_index).then(|| "MP4/MOV file has no index (moov atom): the recording was not finalised".into())
}

fn sniff(head: &[u8]) -> Option<String> {
    if head.is_empty() {
        return None;
    }
    let sample = &head[..head.len().min(4096)];
    let printable = sample
        .iter()
        .filter(|&&b| b == b'\n' || b == b'\r' || b == b'\t' || (0x20..0x7f).contains(&b) || b >= 0x80)
        .count();
    if std::str::from_utf8(sample).is_ok() && printable == sample.len() {
        return Some("not a video file: it contains text".into());
    }
    None
}

fn is_iso_bmff(head: &[u8]) -> bool {
    head.len() >= 12 && &head[4..8] == b"ftyp"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_recognised() {
        assert!(sniff(b"hello, this is not a video\n").unwrap().contains("text"));
        assert!(sniff("caf\u{e9} \u{1f3a5}\n".as_bytes()).unwrap().contains("text"));
    }

    fn mp4_box(kind: &[u8; 4], body_len: u32, written: usize) -> Vec<u8> {
        let mut b = (8 + body_len).to_be_bytes().to_vec();
        b.extend_from_slice(kind);
        b.extend(std::iter::repeat_n(0u8, written));
        b
    }

    #[test]
    fn mp4_cut_inside_mdat_is_called_truncated() {
        let mut file = mp4_box(b"ftyp", 16, 16);
        file.extend(mp4_box(b"mdat", 1000, 100));
        let reason = explain_iso_bmff(&mut std::io::Cursor::new(file)).unwrap();
        assert!(reason.contains("truncated") && reason.contains("'mdat'"), "{reason}");
        assert!(reason.contains("moov"), "{reason}");
    }

    #[test]
    fn complete_mp4_layout_has_no_complaint() {
        let mut file = mp4_box(b"ftyp", 16, 16);
        file.extend(mp4_box(b"mdat", 100, 100));
        file.extend(mp4_box(b"moov", 50, 50));
        assert_eq!(explain_iso_bmff(&mut std::io::Cursor::new(file)), None);
    }

    #[test]
    fn mp4_without_index_is_called_unfinished() {
        let mut file = mp4_box(b"ftyp", 16, 16);
        file.extend(mp4_box(b"mdat", 100, 100));
        assert!(explain_iso_bmff(&mut std::io::Cursor::new(file)).unwrap().contains("not finalised"));
    }

    #[test]
    fn binary_garbage_gets_no_guess() {
        assert_eq!(sniff(&[0u8, 1, 2, 3, 0xff, 0xfe, 0, 0]), None);
    }
}
