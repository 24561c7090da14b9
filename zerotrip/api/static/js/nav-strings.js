// The staff navigation's text, loaded by every staff page through common.js.
import { addStrings } from "./i18n.js";

addStrings({
  "nav.dashboard": ["服务看板", "Dashboard"],
  "nav.rectifications": ["差评整改", "Rectifications"],
  "nav.admin": ["系统管理", "Administration"],
});
