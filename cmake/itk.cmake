# ITK for N4 bias-field correction (io/n4.cpp, the only source that includes ITK): sets IMUNITY_WITH_ITK
# and, when found, the target imunity::itk (the few ITK modules N4 needs; SYSTEM headers, so ITK's own
# warnings never reach our -Wall -Wextra -Werror). IMUNITY_ITK: AUTO uses ITK when found, ON requires it,
# OFF builds without it (io::n4_available() is then false and asking for N4 is a clear error).
set(IMUNITY_ITK AUTO CACHE STRING "Use ITK for N4 bias-field correction (AUTO, ON, OFF)")
set_property(CACHE IMUNITY_ITK PROPERTY STRINGS AUTO ON OFF)
set(IMUNITY_WITH_ITK OFF)
if(NOT IMUNITY_ITK STREQUAL "OFF")
  # ITKConfig.cmake configures every installed ITK module: Debian's GDCM package then prints ~150
  # status lines about command-line tools it does not ship. Keep warnings and errors only.
  set(_imunity_log_level "${CMAKE_MESSAGE_LOG_LEVEL}")
  set(CMAKE_MESSAGE_LOG_LEVEL WARNING)
  find_package(ITK 5 QUIET COMPONENTS ITKCommon ITKBiasCorrection ITKImageGrid ITKImageFilterBase NO_MODULE)
  set(CMAKE_MESSAGE_LOG_LEVEL "${_imunity_log_level}")
  if(ITK_FOUND)
    set(IMUNITY_WITH_ITK ON)
    add_library(imunity_itk INTERFACE)
    target_include_directories(imunity_itk SYSTEM INTERFACE ${ITK_INCLUDE_DIRS})
    target_link_libraries(imunity_itk INTERFACE ${ITK_LIBRARIES})
    add_library(imunity::itk ALIAS imunity_itk)
  elseif(IMUNITY_ITK STREQUAL "ON")
    message(FATAL_ERROR "IMUNITY_ITK=ON but ITK 5 was not found (Debian: apt install libinsighttoolkit5-dev)")
  endif()
endif()
if(IMUNITY_WITH_ITK)
  message(STATUS "imunity: ITK ${ITK_VERSION} for N4 bias-field correction")
else()
  message(STATUS "imunity: without ITK: N4 bias-field correction unavailable (IMUNITY_ITK=${IMUNITY_ITK})")
endif()
