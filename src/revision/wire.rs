//! The primitives of migscope's binary cache encodings ([`super::codec`] for records,
//! [`super::ops::codec`] for operations): little-endian `u32`s, length-prefixed bytes, a tag
//! byte for options. Decoding returns `None` at the first byte that does not fit, so a
//! truncated or foreign cache entry is rejected rather than misread.

pub(crate) fn u32v(v: u32, out: &mut Vec<u8>) {
    out.extend_from_slice(&v.to_le_bytes());
}

pub(crate) fn bytes(b: &[u8], out: &mut Vec<u8>) {
    u32v(b.len() as u32, out);
    out.extend_from_slice(b);
}

pub(crate) fn string(s: &str, out: &mut Vec<u8>) {
    bytes(s.as_bytes(), out);
}

pub(crate) fn option<T>(v: Option<&T>, out: &mut Vec<u8>, f: fn(&T, &mut Vec<u8>)) {
    match v {
        None => out.push(0),
        Some(v) => {
            out.push(1);
            f(v, out);
        }
    }
}

pub(crate) fn opt_string(s: &Option<String>, out: &mut Vec<u8>) {
    option(s.as_ref(), out, |s, out| string(s, out));
}

pub(crate) struct Cursor<'a> {
    b: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(b: &'a [u8]) -> Cursor<'a> {
        Cursor { b, at: 0 }
    }

    /// Every byte was read: trailing bytes mean the entry is not what was decoded.
    pub(crate) fn done(&self) -> bool {
        self.at == self.b.len()
    }

    pub(crate) fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let s = self.b.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(s)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }

    pub(crate) fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }

    pub(crate) fn string(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
    }

    pub(crate) fn bool(&mut self) -> Option<bool> {
        match self.u8()? {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }

    /// `Some(None)` for an absent value, `None` for corrupt bytes.
    pub(crate) fn option<T>(&mut self, f: fn(&mut Self) -> Option<T>) -> Option<Option<T>> {
        if self.bool()? {
            f(self).map(Some)
        } else {
            Some(None)
        }
    }

    /// A count of items to come, each at least `min_size` bytes: capped by what is left, so a
    /// corrupt count cannot make the reader reserve gigabytes.
    pub(crate) fn count(&mut self, min_size: usize) -> Option<usize> {
        let n = self.u32()? as usize;
        (n.saturating_mul(min_size.max(1)) <= self.b.len() - self.at).then_some(n)
    }
}
