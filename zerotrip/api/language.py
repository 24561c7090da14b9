"""Which language a caller reads: Chinese unless its ``Accept-Language`` prefers English."""

from __future__ import annotations

from aiohttp import web

DEFAULT = "zh"
SUPPORTED = ("zh", "en")


def preferred_language(request: web.Request) -> str:
    """The supported language with the highest ``q`` in ``Accept-Language`` (zh-CN by default).

    Ties keep the header's order, as browsers list the user's first choice first.
    """
    best, best_q = DEFAULT, -1.0
    for part in request.headers.get("Accept-Language", "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-", 1)[0]
        if primary not in SUPPORTED:
            continue
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if q > best_q:
            best, best_q = primary, q
    return best


def socket_language(request: web.Request) -> str:
    """A WebSocket's language: its ``lang`` query parameter, else ``Accept-Language``.

    A page cannot set headers on a WebSocket, and its reader may have switched the page to
    another language than the browser's; the page says which in the socket's URL.
    """
    chosen = request.query.get("lang", "").lower().split("-", 1)[0]
    return chosen if chosen in SUPPORTED else preferred_language(request)


# How the fields people fill in are named on the pages, for problems about them.
FIELD_NAMES_ZH = {
    "matter_code": "申请事项",
    "applicant_name": "申请人姓名",
    "applicant_phone": "手机号码",
    "applicant_email": "电子邮箱",
    "organisation": "单位名称",
    "premises_address": "经营场所地址",
    "premises_lat": "纬度",
    "premises_lon": "经度",
    "premises_datum": "坐标系",
    "premises_accuracy_m": "定位精度",
    "recipient": "收件人",
    "phone": "联系电话",
    "province": "省份",
    "city": "城市",
    "address": "详细地址",
    "postcode": "邮政编码",
    "reason": "原因",
    "reasons": "原因",
    "comment": "意见",
    "due_date": "期限",
    "window_start": "上门时间",
    "window_end": "上门时间",
    "password": "密码",
    "username": "用户名",
}
# What is wrong, by pydantic's error type.
ERROR_TYPES_ZH = {
    "missing": "必须填写",
    "string_too_short": "内容太短或为空",
    "string_too_long": "内容太长",
    "string_pattern_mismatch": "格式不正确",
    "value_error": "格式不正确",
    "greater_than_equal": "数值太小",
    "less_than_equal": "数值太大",
    "float_parsing": "须为数字",
    "int_parsing": "须为整数",
    "enum": "不是可选的值",
    "literal_error": "不是可选的值",
    "extra_forbidden": "不认识的字段",
    "date_from_datetime_parsing": "日期格式不正确",
    "datetime_from_date_parsing": "时间格式不正确",
    "bool_parsing": "须为是或否",
    "nul": "不能含有空字符",  # (refused by api.bodies before any model sees the text)
    "surrogate": "含有无效的字符",
}


def field_problem_zh(field: str, error_type: str) -> str:
    """A field's problem in Chinese, naming the field as the page does (never its key)."""
    name = FIELD_NAMES_ZH.get(field.rsplit(".", 1)[-1], "填写的内容")
    return f"“{name}”{ERROR_TYPES_ZH.get(error_type, '不符合要求')}。"
