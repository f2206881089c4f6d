//! The primitives of migscope's binary cache encodings ([`super::codec`] for records,
//! [`super::ops::codec`] for operations): `u32`s as LEB128 varints (lengths and line numbers
//! are small: one or two bytes instead of four, which made the explorer's operations store a
//! fifth smaller at 10,000 revisions), length-prefixed bytes, a tag byte for options. Decoding
//! returns `None` at the first byte that does not fit, so a truncated or foreign cache entry is
//! rejected rather than misread.

pub(crate) fn u32v(mut v: u32, out: &mut Vec<u8>) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
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

    /// A varint of at most five bytes whose value fits a `u32`; the shortest form only, so
    /// every value has one encoding.
    pub(crate) fn u32(&mut self) -> Option<u32> {
        let mut v: u64 = 0;
        for i in 0..5 {
            let b = self.u8()?;
            v |= u64::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                let overlong = i > 0 && b == 0;
                return (!overlong).then_some(u32::try_from(v).ok()?);
            }
        }
        None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_round_trip_and_reject_what_no_encoder_writes() {
        for v in [0, 1, 127, 128, 300, 16_383, 16_384, u32::MAX - 1, u32::MAX] {
            let mut out = Vec::new();
            u32v(v, &mut out);
            let mut c = Cursor::new(&out);
            assert_eq!(c.u32(), Some(v), "{v}");
            assert!(c.done());
            for cut in 0..out.len() {
                assert_eq!(Cursor::new(&out[..cut]).u32(), None, "{v} cut at {cut}");
            }
        }
        let lens = |v: u32| {
            let mut out = Vec::new();
            u32v(v, &mut out);
            out.len()
        };
        assert_eq!((lens(127), lens(128), lens(u32::MAX)), (1, 2, 5));
        // Overlong, too large, too long.
        for bad in [
            &[0x80, 0x00][..],
            &[0xff, 0xff, 0xff, 0xff, 0x10],
            &[0x80; 6],
        ] {
            assert_eq!(Cursor::new(bad).u32(), None, "{bad:?}");
        }
    }
}
