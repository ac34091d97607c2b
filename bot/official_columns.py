"""The column headers of the official forms (the Guangdong 2020 notice on the education system's new-media accounts):
附件1 (统计表, one row per account), 附件2 (汇总表, accounts per platform) and the 备案汇总表 (one row per filing).

On the ground floor: /导出 writes these forms (`bot.readouts.exports`) and a return asks for them as files
(`bot.returns.files.layouts`), so both read the lists here and neither imports the other.
"""

from __future__ import annotations

from bot.vocab import PLATFORMS

# 附件1
ACCOUNT_COLUMNS = (
    "序号",
    "账号(网站)名称",
    "开设单位",
    "认证主体",
    "类型",
    "问题排查情况",
    "是否整改",
    "是否具有互动功能",
    "是否建立内容发布审核制度",
    "是否委托其他单位运营",
    "年度信息发布数量",
    "账号负责人姓名",
    "联系电话",
    "微信号",
    "备注",
)
# columns of 附件1 the unit fills in (the bot does not hold these facts)
ACCOUNT_TO_FILL = frozenset(
    {
        "是否整改",
        "是否具有互动功能",
        "是否建立内容发布审核制度",
        "是否委托其他单位运营",
        "年度信息发布数量",
        "联系电话",
        "微信号",
    }
)
# 附件2
SUMMARY_COLUMNS = ("序号", "单位名称", "单位类别", "地市", *PLATFORMS, "合计")
# 备案汇总表
FILING_COLUMNS = (
    "序号",
    "备案编号",
    "备案类型",
    "开设单位",
    "平台",
    "账号名称",
    "账号ID",
    "开通日期",
    "变更内容",
    "备案状态",
    "提交人",
    "提交时间",
    "审核人",
    "审核时间",
    "驳回原因",
)
