//! Opening an input FFmpeg reads through our callbacks (an `AVIOContext` over a Rust
//! `Read + Seek`): stored evidence is decoded where it is stored, by ranged reads, with no local
//! copy. FFmpeg's demuxers seek as they need (an MP4's index may sit at the end).

use std::ffi::{c_int, c_void};
use std::io::{Read, Seek, SeekFrom};
use std::ops::{Deref, DerefMut};
use std::ptr;

use ffmpeg_next::ffi;
use ffmpeg_next::format::context::Input;

/// What FFmpeg can read: a file-like source.
pub trait MediaRead: Read + Seek + Send {}
impl<T: Read + Seek + Send> MediaRead for T {}

/// FFmpeg's read buffer; the reader underneath does its own read-ahead.
const BUFFER_SIZE: usize = 64 * 1024;

/// The last I/O error the callbacks met, kept for the message (FFmpeg reports only "I/O error").
struct Source {
    reader: Box<dyn MediaRead>,
    last_error: Option<String>,
}

/// An opened input reading from a `MediaRead`; closes the input before freeing what it reads
/// through.
pub(crate) struct ReaderInput {
    input: Option<Input>,
    avio: *mut ffi::AVIOContext,
    source: *mut Source,
}

// The raw pointers are owned by this value alone and used only through it.
unsafe impl Send for ReaderInput {}

impl Deref for ReaderInput {
    type Target = Input;
    fn deref(&self) -> &Input {
        self.input.as_ref().expect("open until dropped")
    }
}

impl DerefMut for ReaderInput {
    fn deref_mut(&mut self) -> &mut Input {
        self.input.as_mut().expect("open until dropped")
    }
}

impl ReaderInput {
    /// The last read or seek error, if the source failed (rather than the data being bad).
    pub(crate) fn source_error(&self) -> Option<String> {
        unsafe { (*self.source).last_error.clone() }
    }
}

impl Drop for ReaderInput {
    fn drop(&mut self) {
        // avformat_close_input leaves a custom AVIOContext alone; it is freed here, after.
        drop(self.input.take());
        unsafe { free_avio(&mut self.avio, self.source) };
    }
}

unsafe fn free_avio(avio: &mut *mut ffi::AVIOContext, source: *mut Source) {
    unsafe {
        if !avio.is_null() {
            // The buffer may have been replaced by FFmpeg; free whichever it holds now.
            ffi::av_freep(ptr::addr_of_mut!((**avio).buffer) as *mut c_void);
            ffi::avio_context_free(avio);
        }
        drop(Box::from_raw(source));
    }
}

unsafe extern "C" fn read_packet(opaque: *mut c_void, buf: *mut u8, size: c_int) -> c_int {
    let source = unsafe { &mut *(opaque as *mut Source) };
    let out = unsafe { std::slice::from_raw_parts_mut(buf, size.max(0) as usize) };
    match source.reader.read(out) {
        Ok(0) => ffi::AVERROR_EOF,
        Ok(n) => n as c_int,
        Err(e) => {
            source.last_error = Some(e.to_string());
            ffi::AVERROR(ffi::EIO)
        }
    }
}

unsafe extern "C" fn seek(opaque: *mut c_void, offset: i64, whence: c_int) -> i64 {
    let source = unsafe { &mut *(opaque as *mut Source) };
    let reader = &mut source.reader;
    let result = if whence & ffi::AVSEEK_SIZE != 0 {
        // The size, without moving.
        reader.stream_position().and_then(|at| {
            let end = reader.seek(SeekFrom::End(0))?;
            reader.seek(SeekFrom::Start(at))?;
            Ok(end)
        })
    } else {
        match whence & !ffi::AVSEEK_FORCE {
            0 => u64::try_from(offset).map_or_else(
                |_| Err(std::io::Error::other("seek before the start")),
                |at| reader.seek(SeekFrom::Start(at)),
            ),
            1 => reader.seek(SeekFrom::Current(offset)),
            2 => reader.seek(SeekFrom::End(offset)),
            _ => Err(std::io::Error::other("unknown seek origin")),
        }
    };
    match result {
        Ok(at) => at as i64,
        Err(e) => {
            source.last_error = Some(e.to_string());
            i64::from(ffi::AVERROR(ffi::EIO))
        }
    }
}

/// Opens `reader` as a media file and reads its stream information, as `format::input` does
/// for a path.
pub(crate) fn open(reader: Box<dyn MediaRead>) -> Result<ReaderInput, (ffmpeg_next::Error, Option<String>)> {
    unsafe {
        let source = Box::into_raw(Box::new(Source { reader, last_error: None }));
        let buffer = ffi::av_malloc(BUFFER_SIZE) as *mut u8;
        let mut avio = if buffer.is_null() {
            ptr::null_mut()
        } else {
            ffi::avio_alloc_context(
                buffer,
                BUFFER_SIZE as c_int,
                0,
                source as *mut c_void,
                Some(read_packet),
                None,
                Some(seek),
            )
        };
        if avio.is_null() {
            ffi::av_free(buffer as *mut c_void);
            drop(Box::from_raw(source));
            return Err((ffmpeg_next::Error::Other { errno: ffi::ENOMEM }, None));
        }
        let mut format = ffi::avformat_alloc_context();
        if format.is_null() {
            free_avio(&mut avio, source);
            return Err((ffmpeg_next::Error::Other { errno: ffi::ENOMEM }, None));
        }
        (*format).pb = avio;
        (*format).flags |= ffi::AVFMT_FLAG_CUSTOM_IO;
        // On failure avformat_open_input frees the format context (not our AVIOContext).
        let opened = ffi::avformat_open_input(&mut format, ptr::null(), ptr::null_mut(), ptr::null_mut());
        if opened < 0 {
            let why = (*source).last_error.take();
            free_avio(&mut avio, source);
            return Err((ffmpeg_next::Error::from(opened), why));
        }
        let found = ffi::avformat_find_stream_info(format, ptr::null_mut());
        if found < 0 {
            let why = (*source).last_error.take();
            ffi::avformat_close_input(&mut format);
            free_avio(&mut avio, source);
            return Err((ffmpeg_next::Error::from(found), why));
        }
        Ok(ReaderInput { input: Some(Input::wrap(format)), avio, source })
    }
}
