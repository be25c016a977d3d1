//! Every sentence the gateway shows a citizen, Arabic and English side by side. Handlers name
//! a [`Text`]; they never spell one. English texts that take a precision after them (shown in
//! parentheses, never personal data) end without a full stop.

/// One citizen-facing sentence in both languages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Text {
    pub en: &'static str,
    pub ar: &'static str,
}

/// A request whose parameters are malformed, repeated or oversized (precision follows).
pub const BAD_REQUEST: Text = Text {
    en: "The request is not valid",
    ar: "الطلب غير صالح.",
};

pub const CLIENT_ID_MISSING: Text = Text {
    en: "client_id is missing",
    ar: "معرّف الجهة مفقود.",
};

pub const UNKNOWN_CLIENT: Text = Text {
    en: "client_id is not a registered agency",
    ar: "الجهة غير مسجلة.",
};

pub const REDIRECT_URI_MISSING: Text = Text {
    en: "redirect_uri is missing",
    ar: "عنوان الرجوع مفقود.",
};

pub const REDIRECT_URI_UNREGISTERED: Text = Text {
    en: "redirect_uri is not registered for this agency (exact match required)",
    ar: "عنوان الرجوع غير مسجل لهذه الجهة.",
};

pub const EXPIRED: Text = Text {
    en: "This sign-in has expired or was already used. Please start again from the agency's website.",
    ar: "انتهت صلاحية عملية الدخول هذه أو سبق استخدامها. يرجى البدء من جديد من موقع الجهة.",
};

pub const FORGED: Text = Text {
    en: "This step did not come from your sign-in in this browser. Please start again from the agency's website.",
    ar: "لم تصدر هذه الخطوة عن عملية دخولك في هذا المتصفح. يرجى البدء من جديد من موقع الجهة.",
};

pub const NOT_GCC: Text = Text {
    en: "country must be a GCC member state",
    ar: "يرجى اختيار دولة خليجية.",
};

pub const IDP_UNAVAILABLE: Text = Text {
    en: "Your country's national digital identity service cannot be reached right now. Please try again later.",
    ar: "تعذر الوصول إلى خدمة الهوية الرقمية الوطنية لدولتك حالياً. يرجى المحاولة لاحقاً.",
};

pub const STORE_UNAVAILABLE: Text = Text {
    en: "The service is temporarily unavailable. Please try again in a moment.",
    ar: "الخدمة غير متاحة مؤقتاً. يرجى المحاولة بعد قليل.",
};

/// The national ID token or userinfo failed verification (country and reason follow).
pub const NATIONAL_UNVERIFIED: Text = Text {
    en: "The sign-in with your national identity could not be verified",
    ar: "تعذر التحقق من تسجيل الدخول بهويتك الوطنية.",
};

/// The national claims could not yield the minimum data set (the attribute follows).
pub const NATIONAL_INCOMPLETE: Text = Text {
    en: "Your national identity provider did not send what is needed",
    ar: "لم ترسل جهة الهوية الوطنية البيانات المطلوبة.",
};

pub const DECISION_MISSING: Text = Text {
    en: "decision must be allow or deny",
    ar: "يرجى الاختيار.",
};
