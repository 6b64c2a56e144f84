#pragma once
// The pickle opcodes restricted_unpickler runs, by the names Python's Lib/pickletools.py gives
// them (which documents their arguments): protocol 2's, as torch.save writes, and the few of
// protocols 3 to 5 that cost nothing to accept. Every other opcode is refused.

namespace multigrid::reference {

namespace pickle_op {
constexpr unsigned char mark = '(';
constexpr unsigned char stop = '.';
constexpr unsigned char binint = 'J';
constexpr unsigned char binint1 = 'K';
constexpr unsigned char binint2 = 'M';
constexpr unsigned char none = 'N';
constexpr unsigned char binpersid = 'Q';
constexpr unsigned char reduce = 'R';
constexpr unsigned char binunicode = 'X';
constexpr unsigned char append = 'a';
constexpr unsigned char build = 'b';
constexpr unsigned char global = 'c';
constexpr unsigned char appends = 'e';
constexpr unsigned char binget = 'h';
constexpr unsigned char long_binget = 'j';
constexpr unsigned char binput = 'q';
constexpr unsigned char long_binput = 'r';
constexpr unsigned char setitem = 's';
constexpr unsigned char tuple = 't';
constexpr unsigned char setitems = 'u';
constexpr unsigned char binfloat = 'G';
constexpr unsigned char empty_dict = '}';
constexpr unsigned char empty_list = ']';
constexpr unsigned char empty_tuple = ')';
constexpr unsigned char proto = 0x80;
constexpr unsigned char tuple1 = 0x85;
constexpr unsigned char tuple2 = 0x86;
constexpr unsigned char tuple3 = 0x87;
constexpr unsigned char newtrue = 0x88;
constexpr unsigned char newfalse = 0x89;
constexpr unsigned char long1 = 0x8a;
constexpr unsigned char long4 = 0x8b;
constexpr unsigned char short_binunicode = 0x8c;
constexpr unsigned char binunicode8 = 0x8d;
constexpr unsigned char stack_global = 0x93;
constexpr unsigned char memoize = 0x94;
constexpr unsigned char frame = 0x95;
}  // namespace pickle_op

struct pickle_opcode_entry {
  unsigned char code;
  const char* name;
};

constexpr pickle_opcode_entry pickle_opcode_names[] = {
    {pickle_op::mark, "MARK"},
    {pickle_op::stop, "STOP"},
    {pickle_op::binint, "BININT"},
    {pickle_op::binint1, "BININT1"},
    {pickle_op::binint2, "BININT2"},
    {pickle_op::none, "NONE"},
    {pickle_op::binpersid, "BINPERSID"},
    {pickle_op::reduce, "REDUCE"},
    {pickle_op::binunicode, "BINUNICODE"},
    {pickle_op::append, "APPEND"},
    {pickle_op::build, "BUILD"},
    {pickle_op::global, "GLOBAL"},
    {pickle_op::appends, "APPENDS"},
    {pickle_op::binget, "BINGET"},
    {pickle_op::long_binget, "LONG_BINGET"},
    {pickle_op::binput, "BINPUT"},
    {pickle_op::long_binput, "LONG_BINPUT"},
    {pickle_op::setitem, "SETITEM"},
    {pickle_op::tuple, "TUPLE"},
    {pickle_op::setitems, "SETITEMS"},
    {pickle_op::binfloat, "BINFLOAT"},
    {pickle_op::empty_dict, "EMPTY_DICT"},
    {pickle_op::empty_list, "EMPTY_LIST"},
    {pickle_op::empty_tuple, "EMPTY_TUPLE"},
    {pickle_op::proto, "PROTO"},
    {pickle_op::tuple1, "TUPLE1"},
    {pickle_op::tuple2, "TUPLE2"},
    {pickle_op::tuple3, "TUPLE3"},
    {pickle_op::newtrue, "NEWTRUE"},
    {pickle_op::newfalse, "NEWFALSE"},
    {pickle_op::long1, "LONG1"},
    {pickle_op::long4, "LONG4"},
    {pickle_op::short_binunicode, "SHORT_BINUNICODE"},
    {pickle_op::binunicode8, "BINUNICODE8"},
    {pickle_op::stack_global, "STACK_GLOBAL"},
    {pickle_op::memoize, "MEMOIZE"},
    {pickle_op::frame, "FRAME"},
};

inline const char* pickle_opcode_name(unsigned char opcode) {
  for (const auto& entry : pickle_opcode_names) {
    if (entry.code == opcode) return entry.name;
  }
  return nullptr;
}

}  // namespace multigrid::reference
