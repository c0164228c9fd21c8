//! Static geography and naming tables: real GB/T 2260 district codes, street names and the
//! well-known hospitals of each city, so generated records look like they came from Guangdong.

use tongdang_core::City;

/// A county-level division (区/县/县级市), or for 东莞 and 中山 (no districts) a town or subdistrict.
pub(crate) struct District {
    pub name: &'static str,
    /// GB/T 2260 code; 东莞 and 中山 towns carry the city code, as their residents' ID numbers do.
    pub code: u32,
    /// Subdistricts (街道) and towns (镇) that host community health centres.
    pub subs: &'static [&'static str],
}

/// One prefecture-level city.
pub(crate) struct CityData {
    pub city: City,
    /// 2020 census population in units of 100 000, used to weight where residents live.
    pub population: u32,
    pub districts: &'static [District],
    /// Real 三级甲等 public hospitals, most prominent first.
    pub top_hospitals: &'static [&'static str],
    /// The city's blood service; most cities call it 中心血站.
    pub blood_centre: Option<&'static str>,
    /// Roads named only in this city, mixed with [`COMMON_ROADS`].
    pub roads: &'static [&'static str],
}

const fn d(name: &'static str, code: u32, subs: &'static [&'static str]) -> District {
    District { name, code, subs }
}

/// In the order of `City::ALL`, which a test checks.
pub(crate) static CITIES: [CityData; 21] = [
    CityData {
        city: City::Guangzhou,
        population: 187,
        districts: &[
            d("荔湾区", 440103, &["逢源街", "多宝街", "白鹤洞街"]),
            d("越秀区", 440104, &["东山街", "北京街", "农林街"]),
            d("海珠区", 440105, &["滨江街", "赤岗街", "江南中街"]),
            d("天河区", 440106, &["石牌街", "林和街", "员村街"]),
            d("白云区", 440111, &["三元里街", "京溪街", "同和街"]),
            d("黄埔区", 440112, &["鱼珠街", "大沙街"]),
            d("番禺区", 440113, &["市桥街", "大石街", "洛浦街"]),
            d("花都区", 440114, &["新华街", "花城街"]),
        ],
        top_hospitals: &[
            "中山大学附属第一医院",
            "广东省人民医院",
            "南方医科大学南方医院",
            "广州医科大学附属第一医院",
            "广州市第一人民医院",
        ],
        blood_centre: Some("广州血液中心"),
        roads: &["中山五路", "环市东路", "天河路", "东风中路", "江南大道中", "广州大道北", "黄埔大道西"],
    },
    CityData {
        city: City::Shaoguan,
        population: 29,
        districts: &[
            d("武江区", 440203, &["新华街道", "惠民街道"]),
            d("浈江区", 440204, &["东河街道", "风采街道", "车站街道"]),
            d("曲江区", 440205, &["马坝镇"]),
            d("乐昌市", 440281, &["乐城街道"]),
            d("南雄市", 440282, &["雄州街道"]),
        ],
        top_hospitals: &["粤北人民医院", "韶关市第一人民医院"],
        blood_centre: None,
        roads: &["风度路", "解放路", "工业东路"],
    },
    CityData {
        city: City::Shenzhen,
        population: 176,
        districts: &[
            d("罗湖区", 440303, &["东门街道", "桂园街道", "黄贝街道"]),
            d("福田区", 440304, &["华强北街道", "莲花街道", "香蜜湖街道", "沙头街道"]),
            d("南山区", 440305, &["粤海街道", "蛇口街道", "南头街道"]),
            d("宝安区", 440306, &["新安街道", "西乡街道"]),
            d("龙岗区", 440307, &["布吉街道", "龙城街道", "坂田街道"]),
        ],
        top_hospitals: &["深圳市人民医院", "北京大学深圳医院", "香港大学深圳医院", "深圳市第二人民医院"],
        blood_centre: Some("深圳市血液中心"),
        roads: &["深南大道", "滨河大道", "红荔路", "北环大道", "南海大道", "宝安大道", "龙岗大道"],
    },
    CityData {
        city: City::Zhuhai,
        population: 24,
        districts: &[
            d("香洲区", 440402, &["拱北街道", "吉大街道", "前山街道", "香湾街道"]),
            d("斗门区", 440403, &["井岸镇", "白蕉镇"]),
            d("金湾区", 440404, &["三灶镇", "红旗镇"]),
        ],
        top_hospitals: &["珠海市人民医院", "中山大学附属第五医院"],
        blood_centre: None,
        roads: &["情侣路", "凤凰路", "迎宾南路"],
    },
    CityData {
        city: City::Shantou,
        population: 55,
        districts: &[
            d("龙湖区", 440507, &["龙华街道", "金霞街道"]),
            d("金平区", 440511, &["石炮台街道", "金砂街道", "东方街道"]),
            d("濠江区", 440512, &["达濠街道"]),
            d("潮阳区", 440513, &["棉城街道", "和平镇"]),
            d("潮南区", 440514, &["峡山街道", "陈店镇"]),
            d("澄海区", 440515, &["澄华街道", "莲下镇"]),
        ],
        top_hospitals: &[
            "汕头大学医学院第一附属医院",
            "汕头大学医学院第二附属医院",
            "汕头市中心医院",
            "汕头大学医学院附属肿瘤医院",
        ],
        blood_centre: None,
        roads: &["长平路", "金砂路", "中山东路"],
    },
    CityData {
        city: City::Foshan,
        population: 95,
        districts: &[
            d("禅城区", 440604, &["祖庙街道", "石湾镇街道", "张槎街道"]),
            d("南海区", 440605, &["桂城街道", "大沥镇", "里水镇", "狮山镇"]),
            d("顺德区", 440606, &["大良街道", "容桂街道", "北滘镇", "乐从镇"]),
            d("三水区", 440607, &["西南街道", "白坭镇"]),
            d("高明区", 440608, &["荷城街道", "杨和镇"]),
        ],
        top_hospitals: &["佛山市第一人民医院", "佛山市中医院", "南方医科大学顺德医院"],
        blood_centre: None,
        roads: &["汾江中路", "季华路", "南海大道北", "岭南大道"],
    },
    CityData {
        city: City::Jiangmen,
        population: 48,
        districts: &[
            d("蓬江区", 440703, &["白沙街道", "环市街道", "杜阮镇"]),
            d("江海区", 440704, &["外海街道", "礼乐街道"]),
            d("新会区", 440705, &["会城街道", "大泽镇"]),
            d("台山市", 440781, &["台城街道", "广海镇"]),
            d("开平市", 440783, &["长沙街道", "赤坎镇"]),
            d("鹤山市", 440784, &["沙坪街道"]),
            d("恩平市", 440785, &["恩城街道"]),
        ],
        top_hospitals: &["江门市中心医院", "江门市人民医院"],
        blood_centre: None,
        roads: &["港口路", "建设路", "五邑路"],
    },
    CityData {
        city: City::Zhanjiang,
        population: 70,
        districts: &[
            d("赤坎区", 440802, &["中华街道", "沙湾街道"]),
            d("霞山区", 440803, &["解放街道", "爱国街道"]),
            d("坡头区", 440804, &["南调街道"]),
            d("麻章区", 440811, &["麻章镇"]),
            d("廉江市", 440881, &["罗州街道"]),
            d("雷州市", 440882, &["雷城街道"]),
            d("吴川市", 440883, &["梅录街道"]),
        ],
        top_hospitals: &["广东医科大学附属医院", "湛江中心人民医院", "湛江市第一中医医院"],
        blood_centre: None,
        roads: &["人民大道", "海滨大道", "椹川大道"],
    },
    CityData {
        city: City::Maoming,
        population: 62,
        districts: &[
            d("茂南区", 440902, &["新华街道", "河西街道"]),
            d("电白区", 440904, &["水东街道"]),
            d("高州市", 440981, &["石仔岭街道"]),
            d("化州市", 440982, &["河西街道"]),
            d("信宜市", 440983, &["东镇街道"]),
        ],
        top_hospitals: &["茂名市人民医院", "高州市人民医院"],
        blood_centre: None,
        roads: &["油城路", "光华路", "站前路"],
    },
    CityData {
        city: City::Zhaoqing,
        population: 41,
        districts: &[
            d("端州区", 441202, &["城东街道", "黄岗街道"]),
            d("鼎湖区", 441203, &["坑口街道"]),
            d("高要区", 441204, &["南岸街道"]),
            d("四会市", 441284, &["东城街道"]),
        ],
        top_hospitals: &["肇庆市第一人民医院", "肇庆市中医院"],
        blood_centre: None,
        roads: &["端州路", "星湖大道", "天宁路"],
    },
    CityData {
        city: City::Huizhou,
        population: 60,
        districts: &[
            d("惠城区", 441302, &["江北街道", "桥东街道", "河南岸街道"]),
            d("惠阳区", 441303, &["淡水街道"]),
            d("博罗县", 441322, &["罗阳街道"]),
            d("惠东县", 441323, &["平山街道"]),
        ],
        top_hospitals: &["惠州市中心人民医院", "惠州市第一人民医院"],
        blood_centre: None,
        roads: &["江北大道", "下角路", "鹅岭路"],
    },
    CityData {
        city: City::Meizhou,
        population: 39,
        districts: &[
            d("梅江区", 441402, &["金山街道", "江南街道"]),
            d("梅县区", 441403, &["程江镇"]),
            d("五华县", 441424, &["水寨镇"]),
            d("兴宁市", 441481, &["兴田街道"]),
        ],
        top_hospitals: &["梅州市人民医院", "梅州市中医医院"],
        blood_centre: None,
        roads: &["梅州大道", "彬芳大道", "江南路"],
    },
    CityData {
        city: City::Shanwei,
        population: 27,
        districts: &[
            d("城区", 441502, &["香洲街道", "凤山街道"]),
            d("海丰县", 441521, &["海城镇"]),
            d("陆丰市", 441581, &["东海街道"]),
        ],
        top_hospitals: &["汕尾市人民医院"],
        blood_centre: None,
        roads: &["汕尾大道", "香洲路"],
    },
    CityData {
        city: City::Heyuan,
        population: 28,
        districts: &[
            d("源城区", 441602, &["上城街道", "源南镇"]),
            d("紫金县", 441621, &["紫城镇"]),
            d("龙川县", 441622, &["老隆镇"]),
            d("东源县", 441625, &["仙塘镇"]),
        ],
        top_hospitals: &["河源市人民医院"],
        blood_centre: None,
        roads: &["河源大道", "永康大道"],
    },
    CityData {
        city: City::Yangjiang,
        population: 26,
        districts: &[
            d("江城区", 441702, &["南恩街道", "城南街道"]),
            d("阳东区", 441704, &["东城镇"]),
            d("阳春市", 441781, &["春城街道"]),
        ],
        top_hospitals: &["阳江市人民医院"],
        blood_centre: None,
        roads: &["东风路", "新江路"],
    },
    CityData {
        city: City::Qingyuan,
        population: 40,
        districts: &[
            d("清城区", 441802, &["凤城街道", "东城街道"]),
            d("清新区", 441803, &["太和镇"]),
            d("英德市", 441881, &["英城街道"]),
            d("连州市", 441882, &["连州镇"]),
        ],
        top_hospitals: &["清远市人民医院"],
        blood_centre: None,
        roads: &["北江路", "连江路"],
    },
    CityData {
        city: City::Dongguan,
        population: 105,
        districts: &[
            d("莞城街道", 441900, &[]),
            d("南城街道", 441900, &[]),
            d("东城街道", 441900, &[]),
            d("虎门镇", 441900, &[]),
            d("长安镇", 441900, &[]),
            d("常平镇", 441900, &[]),
            d("塘厦镇", 441900, &[]),
        ],
        top_hospitals: &["东莞市人民医院", "东莞市中医院"],
        blood_centre: None,
        roads: &["东莞大道", "鸿福路", "莞太路", "东城中路"],
    },
    CityData {
        city: City::Zhongshan,
        population: 44,
        districts: &[
            d("石岐街道", 442000, &[]),
            d("东区街道", 442000, &[]),
            d("西区街道", 442000, &[]),
            d("小榄镇", 442000, &[]),
            d("古镇镇", 442000, &[]),
            d("三乡镇", 442000, &[]),
        ],
        top_hospitals: &["中山市人民医院", "中山市中医院", "中山市博爱医院"],
        blood_centre: None,
        roads: &["孙文中路", "兴中道", "博爱路"],
    },
    CityData {
        city: City::Chaozhou,
        population: 26,
        districts: &[
            d("湘桥区", 445102, &["太平街道", "西湖街道"]),
            d("潮安区", 445103, &["庵埠镇"]),
            d("饶平县", 445122, &["黄冈镇"]),
        ],
        top_hospitals: &["潮州市中心医院"],
        blood_centre: None,
        roads: &["潮州大道", "枫春路"],
    },
    CityData {
        city: City::Jieyang,
        population: 56,
        districts: &[
            d("榕城区", 445202, &["中山街道", "榕华街道"]),
            d("揭东区", 445203, &["曲溪街道"]),
            d("揭西县", 445222, &["河婆街道"]),
            d("惠来县", 445224, &["惠城镇"]),
            d("普宁市", 445281, &["流沙东街道"]),
        ],
        top_hospitals: &["揭阳市人民医院"],
        blood_centre: None,
        roads: &["临江北路", "揭阳大道"],
    },
    CityData {
        city: City::Yunfu,
        population: 24,
        districts: &[
            d("云城区", 445302, &["云城街道", "河口街道"]),
            d("云安区", 445303, &["六都镇"]),
            d("新兴县", 445321, &["新城镇"]),
            d("罗定市", 445381, &["罗城街道"]),
        ],
        top_hospitals: &["云浮市人民医院"],
        blood_centre: None,
        roads: &["兴云路", "世纪大道"],
    },
];

/// Road names found in almost every Chinese city.
pub(crate) const COMMON_ROADS: &[&str] = &[
    "人民路",
    "中山路",
    "解放路",
    "建设路",
    "新华路",
    "东风路",
    "环城路",
    "文明路",
    "和平路",
    "府前路",
    "朝阳路",
    "东湖路",
    "滨江路",
    "工业大道",
    "学府路",
    "青年路",
    "迎宾大道",
    "沿江路",
    "五一路",
    "健康路",
];

/// Surnames with rough per-mille frequencies in Guangdong, where 陈 李 黄 梁 林 lead.
pub(crate) const SURNAMES: &[(&str, u32)] = &[
    ("陈", 90),
    ("李", 65),
    ("黄", 60),
    ("张", 45),
    ("梁", 40),
    ("林", 38),
    ("刘", 35),
    ("吴", 30),
    ("罗", 28),
    ("何", 27),
    ("王", 25),
    ("郑", 24),
    ("谢", 20),
    ("杨", 18),
    ("周", 17),
    ("冯", 16),
    ("邓", 16),
    ("曾", 15),
    ("叶", 15),
    ("蔡", 14),
    ("钟", 14),
    ("卢", 13),
    ("潘", 12),
    ("许", 12),
    ("苏", 12),
    ("郭", 11),
    ("朱", 11),
    ("余", 10),
    ("彭", 9),
    ("胡", 9),
    ("徐", 9),
    ("江", 9),
    ("方", 9),
    ("邱", 8),
    ("廖", 8),
    ("赵", 8),
    ("肖", 8),
    ("谭", 8),
    ("黎", 8),
    ("高", 7),
    ("唐", 7),
    ("孙", 6),
    ("马", 6),
    ("曹", 6),
    ("袁", 6),
    ("莫", 6),
    ("宋", 5),
    ("蒋", 5),
    ("杜", 5),
    ("程", 5),
    ("沈", 5),
    ("姚", 5),
    ("陆", 5),
    ("石", 5),
    ("邹", 5),
    ("韩", 4),
    ("魏", 4),
    ("吕", 4),
    ("丁", 4),
    ("汪", 4),
    ("范", 4),
    ("韦", 4),
    ("熊", 4),
    ("龙", 4),
    ("严", 4),
    ("覃", 4),
    ("戴", 4),
    ("汤", 4),
    ("田", 3),
    ("董", 3),
    ("任", 3),
    ("姜", 3),
    ("金", 3),
    ("夏", 3),
    ("付", 3),
    ("尹", 3),
    ("雷", 3),
    ("侯", 3),
    ("陶", 3),
    ("龚", 3),
    ("邵", 3),
    ("万", 3),
    ("孔", 3),
    ("于", 2),
    ("崔", 2),
    ("贾", 2),
    ("白", 2),
    ("孟", 2),
    ("秦", 2),
    ("薛", 2),
    ("段", 2),
    ("史", 2),
    ("贺", 2),
    ("顾", 2),
    ("毛", 2),
    ("钱", 2),
    ("武", 2),
    ("向", 2),
    ("闫", 1),
    ("郝", 1),
    // Compound surnames: 司徒 is typical of 台山 and 开平.
    ("欧阳", 3),
    ("司徒", 3),
    ("上官", 1),
];

/// Given names by sex and birth era, because names follow fashions.
pub(crate) const MALE_OLD: &[&str] = &[
    "国强", "建国", "志明", "国华", "建华", "德明", "振华", "荣华", "炳坤", "锦荣", "汉", "伟", "明", "华", "荣", "发", "权",
    "辉", "强", "耀", "根", "福", "志强", "永强", "卫东", "炳", "锦华", "秋生",
];
pub(crate) const MALE_MID: &[&str] = &[
    "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "辉", "峰", "鹏", "健", "志伟", "建军", "海涛", "俊杰", "伟强",
    "家伟", "志华", "文军", "振宇", "晓东", "国栋", "锦华", "卓", "亮", "永康",
];
pub(crate) const MALE_YOUNG: &[&str] = &[
    "子轩", "浩然", "宇轩", "梓豪", "俊熙", "浩宇", "嘉豪", "家豪", "一鸣", "子豪", "宇航", "梓轩", "俊宇", "睿", "轩", "浩",
    "博文", "泽宇", "思远", "铭", "天佑", "皓轩", "晨阳", "柏霖", "梓健",
];
pub(crate) const FEMALE_OLD: &[&str] = &[
    "秀英", "桂英", "玉兰", "淑芬", "秀兰", "凤英", "玉珍", "丽华", "桂芳", "美玲", "月娥", "带娣", "亚妹", "金凤", "芳", "英",
    "珍", "兰", "娟", "少芬", "惠芳",
];
pub(crate) const FEMALE_MID: &[&str] = &[
    "芳", "娜", "敏", "静", "丽", "艳", "娟", "霞", "丽娟", "小红", "晓燕", "海燕", "惠玲", "佩玲", "慧敏", "美华", "秋菊", "婷",
    "玲", "燕", "丽萍", "雪梅", "洁", "碧霞",
];
pub(crate) const FEMALE_YOUNG: &[&str] = &[
    "梓涵", "诗涵", "欣怡", "雨桐", "紫琪", "可欣", "咏诗", "嘉欣", "思琪", "佳怡", "子涵", "梓琪", "雨欣", "芷晴", "婉婷",
    "晓彤", "佳琪", "悦", "琳", "妍", "诗琪", "若曦", "梓萱", "乐瑶",
];

/// Uyghur and Kazakh names written with the interpunct, as they appear on ID cards: (given, family).
pub(crate) const MINORITY_MALE: &[(&str, &str)] =
    &[("买买提", "艾力"), ("艾尔肯", "热合曼"), ("阿布都拉", "吐尔逊"), ("努尔兰", "哈力木"), ("麦麦提", "阿不都")];
pub(crate) const MINORITY_FEMALE: &[(&str, &str)] =
    &[("阿依古丽", "吐尔逊"), ("古丽娜尔", "买买提"), ("热依拉", "艾山"), ("迪娜拉", "努尔兰"), ("帕提古丽", "阿不都")];

/// Names that make a private hospital sound like one.
pub(crate) const PRIVATE_BRANDS: &[&str] =
    &["仁爱", "博爱", "华侨", "康华", "协和", "和平", "东方", "新华", "友好", "健民", "同仁", "慈航"];
