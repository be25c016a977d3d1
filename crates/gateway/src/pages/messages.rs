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
    en: "This sign-in has expired or was already used (for example after pressing Back). Please start again from the agency's website.",
    ar: "انتهت صلاحية عملية الدخول هذه أو سبق استخدامها (مثلاً بعد الضغط على زر الرجوع). يرجى البدء من جديد من موقع الجهة.",
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

/// The national ID token or userinfo failed verification (the reason goes to the log only).
pub const NATIONAL_UNVERIFIED: Text = Text {
    en: "We could not confirm your sign-in with your national digital identity, so you have not been signed in.",
    ar: "تعذّر علينا تأكيد تسجيل دخولك بهويتك الرقمية الوطنية، لذلك لم يتم تسجيل دخولك.",
};

/// The national claims could not yield the minimum data set (the attribute goes to the log).
pub const NATIONAL_INCOMPLETE: Text = Text {
    en: "Your national digital identity service did not send all the details this service needs, so you have not been signed in.",
    ar: "لم ترسل خدمة الهوية الرقمية الوطنية جميع البيانات التي تحتاجها هذه الخدمة، لذلك لم يتم تسجيل دخولك.",
};

/// A fault of the gateway's own (its configuration); operators find it by the reference.
pub const SERVER_ERROR: Text = Text {
    en: "Something went wrong on our side, so you have not been signed in. Please try again later.",
    ar: "حدث خطأ من جهتنا، لذلك لم يتم تسجيل دخولك. يرجى المحاولة لاحقاً.",
};

pub const DECISION_MISSING: Text = Text {
    en: "decision must be allow or deny",
    ar: "يرجى الاختيار.",
};

/// A page the gateway does not have (a mistyped or outdated link).
pub const NOT_FOUND: Text = Text {
    en: "This page does not exist. If you were signing in to a service, please start again from its website.",
    ar: "هذه الصفحة غير موجودة. إذا كنت تسجّل الدخول إلى خدمة، يرجى البدء من جديد من موقعها.",
};

/// Over a rate limit (429): too many requests from this address or for this service.
pub const RATE_LIMITED: Text = Text {
    en: "Too many requests have come from your network in a short time. Please wait a minute and try again.",
    ar: "وصل عدد كبير من الطلبات من شبكتك خلال وقت قصير. يرجى الانتظار دقيقة ثم المحاولة مرة أخرى.",
};

// ---------------------------------------------------------------- sign-out

pub const LOGOUT_CONFIRM_TITLE: Text = Text {
    en: "Sign out of the GCC identity gateway?",
    ar: "هل تريد تسجيل الخروج من بوابة الهوية الخليجية؟",
};

pub const LOGOUT_CONFIRM: Text = Text {
    en: "You will be signed out of every service you signed in to through the gateway in this browser.",
    ar: "سيتم تسجيل خروجك من جميع الخدمات التي دخلت إليها عبر البوابة في هذا المتصفح.",
};

pub const LOGOUT_YES: Text = Text {
    en: "Sign out",
    ar: "تسجيل الخروج",
};

pub const LOGOUT_NO: Text = Text {
    en: "Stay signed in",
    ar: "البقاء مسجلاً",
};

pub const LOGGED_OUT_TITLE: Text = Text {
    en: "You are signed out",
    ar: "تم تسجيل خروجك",
};

pub const LOGGED_OUT: Text = Text {
    en: "You are no longer signed in through the gateway in this browser. You may close this page.",
    ar: "لم تعد مسجلاً عبر البوابة في هذا المتصفح. يمكنك إغلاق هذه الصفحة.",
};

pub const STILL_SIGNED_IN: Text = Text {
    en: "You are still signed in.",
    ar: "ما زلت مسجلاً.",
};

pub const LOGOUT_CONTINUE: Text = Text {
    en: "Continue",
    ar: "متابعة",
};

/// A logout request whose `id_token_hint`, `client_id` or `post_logout_redirect_uri` is
/// not acceptable (precision follows).
pub const LOGOUT_BAD_REQUEST: Text = Text {
    en: "This sign-out request is not valid",
    ar: "طلب تسجيل الخروج هذا غير صالح.",
};
